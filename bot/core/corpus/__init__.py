"""The corpus service every door asks: a folder opened (and watched), its answers and listing."""
