/**
 * The stack's outputs, resolved to local values: an output that names the HTTP API's execute-api host names
 * the local API instead. An output that cannot be resolved locally is left out.
 */
import { type IntrinsicContext, resolveString, UnresolvableError } from './intrinsics';
import { resourcesOfType } from './template';

export function resolveOutputs(ctx: IntrinsicContext, apiUrl: string): Record<string, string> {
  const apiHosts = resourcesOfType(ctx.template, 'AWS::ApiGatewayV2::Api').map(
    ([id]) => `https://${ctx.resources.get(id)!.ref}.execute-api.${ctx.region}.amazonaws.com`,
  );
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(ctx.template.Outputs ?? {})) {
    try {
      let value = resolveString(output.Value, ctx, `output ${name}`);
      for (const host of apiHosts) value = value.replace(host, apiUrl);
      outputs[name] = value;
    } catch (error) {
      if (!(error instanceof UnresolvableError)) throw error;
    }
  }
  return outputs;
}
