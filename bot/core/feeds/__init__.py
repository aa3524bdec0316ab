"""Following feeds and sitemaps into the corpus folder, with their state in the data folder."""
