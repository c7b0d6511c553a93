/** The built-in `echo` agent, so that a fresh deploy can be smoke-tested: it returns `{ echo: payload }`. */
import type { AgentRequest } from '../core/ports';

export const handler = async (request: AgentRequest): Promise<{ echo: unknown }> => ({
  echo: request.payload,
});
