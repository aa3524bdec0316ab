package newsquote.opensearch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;
import org.opensearch.transport.TransportService;

/**
 * Starts one OpenSearch node inside this JVM, for the project's tests and benchmarks.
 *
 * <p>Why in-process: the server jar and its module jars are plain Maven Central artifacts, so a
 * node whose plugins are loaded from the classpath (as OpenSearch's own test framework does)
 * needs nothing but Maven's ordinary dependency resolution: no distribution archive to fetch,
 * unpack and configure. The plugin jars here are
 * the modules a real distribution always loads that this project needs: the netty4 transport
 * (HTTP and node-to-node) and analysis-common. There is no security plugin: plain HTTP,
 * bound to 127.0.0.1 only, never to another interface.
 *
 * <p>Lifecycle: prints one line {@code NEWSQUOTE-OPENSEARCH READY ...} on stdout once the node
 * answers HTTP; stops cleanly (node closed, data flushed) on SIGTERM/SIGINT, and also when its
 * standard input reaches end-of-file, so a test runner that dies without stopping it leaves no
 * orphan JVM behind (its end of the pipe closes when it exits, however it exits).
 *
 * <p>Arguments (all {@code --key value}): {@code --name}, {@code --cluster}, {@code --home},
 * {@code --http-port}, {@code --transport-port}, {@code --seed-hosts} (comma-separated
 * host:port), {@code --initial-cluster-managers} (comma-separated node names, only for the
 * first start of a new cluster), and {@code --no-stdin-watch} to run without the stdin
 * watch (e.g. started from a shell in the background).
 */
public final class Launcher {

    /** Subclass only to reach Node's constructor that takes classpath plugins. */
    private static final class ClasspathPluginNode extends Node {
        ClasspathPluginNode(Environment environment, List<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        // Log4j's own shutdown hook would stop logging while the node is still closing.
        System.setProperty("log4j.shutdownHookEnabled", "false");
        Map<String, String> opts = parseArgs(args);
        String name = required(opts, "name");
        Path home = Path.of(required(opts, "home")).toAbsolutePath();
        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));

        Settings.Builder settings = Settings.builder()
            .put("node.name", name)
            .put("cluster.name", required(opts, "cluster"))
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            // Loopback only: these nodes are for tests on this machine.
            .put("network.host", "127.0.0.1")
            .put("http.port", required(opts, "http-port"))
            .put("transport.port", required(opts, "transport-port"))
            // A nearly full disk must not stop replicas from being allocated in a test run.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // Tests create and delete indices freely and start from a known state.
            .put("action.auto_create_index", false);
        if (opts.containsKey("seed-hosts")) {
            settings.putList("discovery.seed_hosts", splitList(opts.get("seed-hosts")));
        }
        if (opts.containsKey("initial-cluster-managers")) {
            settings.putList(
                "cluster.initial_cluster_manager_nodes", splitList(opts.get("initial-cluster-managers")));
        }

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings.build(), Collections.emptyMap(), home.resolve("config"), () -> name);
        Node node = new ClasspathPluginNode(
            environment, List.of(Netty4Plugin.class, CommonAnalysisPlugin.class));

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                System.err.println("NEWSQUOTE-OPENSEARCH stop failed: " + e);
            } finally {
                System.out.println("NEWSQUOTE-OPENSEARCH STOPPED " + name);
                System.out.flush();
                stopped.countDown();
            }
        }, "newsquote-stop"));

        try {
            node.start();
        } catch (Exception | Error e) {
            // The node's own threads would keep this JVM alive: exit, which closes the node.
            System.err.println("NEWSQUOTE-OPENSEARCH start failed: " + e);
            e.printStackTrace();
            System.exit(1);
        }
        String http = node.injector().getInstance(HttpServerTransport.class)
            .boundAddress().publishAddress().toString();
        String transport = node.injector().getInstance(TransportService.class)
            .boundAddress().publishAddress().toString();
        System.out.println("NEWSQUOTE-OPENSEARCH READY " + name + " http=" + http + " transport=" + transport);
        System.out.flush();

        if (!opts.containsKey("no-stdin-watch")) {
            watchStdin();
        }
        stopped.await();
    }

    /** Exits (running the shutdown hook) once stdin closes: the parent is gone or wants us gone. */
    private static void watchStdin() {
        Thread watcher = new Thread(() -> {
            InputStream in = System.in;
            byte[] buffer = new byte[256];
            try {
                while (in.read(buffer) >= 0) {
                    // Input is ignored; only its end matters.
                }
            } catch (IOException e) {
                // A broken stdin means the same as a closed one.
            }
            System.out.println("NEWSQUOTE-OPENSEARCH stdin closed, stopping");
            System.out.flush();
            System.exit(0);
        }, "newsquote-stdin-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    private static Map<String, String> parseArgs(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("expected --key, got: " + arg);
            }
            String key = arg.substring(2);
            if (key.equals("no-stdin-watch")) {
                opts.put(key, "true");
            } else if (i + 1 < args.length) {
                opts.put(key, args[++i]);
            } else {
                throw new IllegalArgumentException("missing value for " + arg);
            }
        }
        return opts;
    }

    private static String required(Map<String, String> opts, String key) {
        String value = opts.get(key);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("missing --" + key);
        }
        return value;
    }

    private static List<String> splitList(String value) {
        return List.of(value.split(","));
    }
}
