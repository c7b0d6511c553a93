/*
 * Starts DynamoDB Local listening on 127.0.0.1 only. DynamoDBLocal.jar has no bind-address option: its
 * DynamoDBProxyServer builds a Jetty Server(port), which listens on every interface. This launcher builds
 * the server as the jar's own main does (ServerRunner.createServerFromCommandLineArgs, same arguments), sets
 * the host of its connectors to 127.0.0.1 before the server starts (so no socket is ever open to the
 * network, not even briefly), and puts a handler in front that refuses requests from web pages (an Origin
 * header) and for foreign host names (DNS rebinding).
 *
 * Run as a single source file (java LoopbackDynamoDbLocal.java ARGS, with the jar on the class path): it
 * needs a JDK's compiler module (jdk.compiler), which a JRE-only install lacks.
 */
import java.lang.reflect.Field;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.AbstractNetworkConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDbLocal {
  private static final Pattern LOOPBACK_HOST =
      Pattern.compile(
          "^(127\\.0\\.0\\.1|\\[::1\\]|([a-z0-9-]+\\.)*localhost)(:\\d+)?$", Pattern.CASE_INSENSITIVE);

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector connector : server.getConnectors()) {
      if (!(connector instanceof AbstractNetworkConnector)) {
        throw new IllegalStateException("unexpected connector " + connector);
      }
      ((AbstractNetworkConnector) connector).setHost("127.0.0.1");
    }
    Handler inner = server.getHandler();
    server.setHandler(
        new Handler.Wrapper(inner) {
          @Override
          public boolean handle(Request request, Response response, Callback callback) throws Exception {
            String origin = request.getHeaders().get("Origin");
            String host = request.getHeaders().get("Host");
            if (origin != null || host == null || !LOOPBACK_HOST.matcher(host).matches()) {
              Response.writeError(request, response, callback, 403);
              return true;
            }
            return super.handle(request, response, callback);
          }
        });
    proxy.start();
    System.out.println("listening on 127.0.0.1");
    proxy.join();
  }
}
