import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { FunctionRole } from '../lambda/contract';
import {
  destinationHeartbeatError,
  MAX_EVENT_AGE_SECONDS,
  MIN_EVENT_AGE_SECONDS,
  maxEventAgeSeconds,
} from '../lambda/contract/settings-rules';
import {
  type AgentRegistry,
  agentFunctionTimeout,
  asyncAgentLimits,
  destinationAgentFunction,
} from './agents';
import { SettleFunction, type SettleOptions } from './settle-function';

// Lambda's bounds on an event invoke config's event age, and the rules of its heartbeat window, live in
// lambda/contract/settings-rules.ts (the local runtime's template rewrites apply them too).
export { MAX_EVENT_AGE_SECONDS, MIN_EVENT_AGE_SECONDS, maxEventAgeSeconds };

/** The id the CDK gives a function's event invoke config (`configureAsyncInvoke`), so that there is one. */
const EVENT_INVOKE_CONFIG_ID = 'EventInvokeConfig';

export interface LambdaAgentCompletionProps extends SettleOptions {
  /**
   * The agent registry. Every async Lambda agent whose function is a `lambda.Function` of the same stack gets
   * an event invoke config with the completion function as its destination; other agents are left alone.
   */
  readonly agents: AgentRegistry;
}

/** One function of the app that completes through destinations, with the heartbeat window of its agents. */
interface DestinationAgent {
  readonly fn: lambda.Function;
  readonly types: string[];
  readonly heartbeatSeconds: number;
}

function destinationAgents(agents: AgentRegistry): DestinationAgent[] {
  const byFunction = new Map<lambda.Function, DestinationAgent>();
  for (const [type, agent] of Object.entries(agents)) {
    const fn = destinationAgentFunction(agent);
    if (!fn) continue;
    const heartbeatSeconds = asyncAgentLimits(agent)!.heartbeatTimeout.toSeconds();
    const seen = byFunction.get(fn);
    if (seen) seen.types.push(type);
    else byFunction.set(fn, { fn, types: [type], heartbeatSeconds });
  }
  return [...byFunction.values()];
}

/** Whether the registry has an async Lambda agent that completes through destinations. */
export function hasDestinationAgents(agents: AgentRegistry): boolean {
  return Object.values(agents).some((agent) => destinationAgentFunction(agent) !== undefined);
}

/**
 * Lists every rule the async Lambda agents of the app break: one event invoke config per function, so one
 * heartbeat window per function; a window long enough for the function's timeout and Lambda's shortest event
 * age; a function of the same stack (its config names the completion function) with no event invoke config of
 * its own. Messages name no tier.
 */
export function destinationAgentErrors(agents: AgentRegistry, stack: Stack): string[] {
  const errors: string[] = [];
  for (const { fn, types, heartbeatSeconds } of destinationAgents(agents)) {
    const names = types.map((t) => `'${t}'`).join(', ');
    const windows = types.map((t) => asyncAgentLimits(agents[t]!)!.heartbeatTimeout.toSeconds());
    if (new Set(windows).size > 1) {
      errors.push(
        `agents ${names} share the function ${fn.node.path} in mode 'async' with different heartbeatTimeouts (${windows.join(', ')} seconds), ` +
          'but a function has one event invoke config, whose maximum event age follows from the heartbeatTimeout: give them the same one',
      );
    }
    if (Stack.of(fn) !== stack) {
      errors.push(
        `agent ${names} function ${fn.node.path} must be in the TaskQueue's stack to complete through destinations, ` +
          'or be imported by ARN and report through the callback routes',
      );
    }
    if (fn.node.tryFindChild(EVENT_INVOKE_CONFIG_ID) !== undefined) {
      errors.push(
        `agent ${names} function ${fn.node.path} already has an event invoke config, but an async Lambda agent of the app ` +
          'gets its own (no retries, a maximum event age within its heartbeat window, the completion function as destination)',
      );
    }
    const functionTimeout = agentFunctionTimeout(agents[types[0]!]!)?.toSeconds();
    if (functionTimeout === undefined) {
      errors.push(`agent ${names} function timeout must be known at synth time, to bound its event age`);
      continue;
    }
    if (Token.isUnresolved(heartbeatSeconds)) continue;
    const windowError = destinationHeartbeatError(names, heartbeatSeconds, functionTimeout);
    if (windowError) errors.push(windowError);
  }
  return errors;
}

/**
 * Invokes the completion function with the whole invocation record (as `LambdaDestination` without
 * `responseOnly`: the completion needs `requestPayload`, which carries the attempt's token), and lets the agent
 * function invoke it: its unqualified ARN only, not `:*` as `grantInvoke` would (Lambda invokes the
 * destination by the ARN in the config).
 */
class CompletionDestination implements lambda.IDestination {
  public constructor(private readonly completion: lambda.IFunction) {}

  public bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.completion.functionArn],
      }),
    );
    return { destination: this.completion.functionArn };
  }
}

/**
 * Completion of async Lambda agents of the app through Lambda destinations, so that such an agent needs no
 * callback code: the completion function, and each agent function's event invoke config.
 *
 * Each agent function gets exactly one event invoke config:
 * - no retries (`MaximumRetryAttempts: 0`): Lambda must not run an attempt twice; the queue retries, counted;
 * - `MaximumEventAgeInSeconds` = heartbeatTimeout − function timeout: a queued event never starts after its
 *   attempt was declared lost, and its outcome arrives within the window;
 * - the completion function as destination on success and on failure.
 *
 * Functions imported by ARN get none: they are async only through the callback routes.
 */
export class LambdaAgentCompletion extends Construct {
  /** The destination of the agents' invocation records. */
  public readonly completionFunction: SettleFunction;
  /** The event invoke config of each agent function. */
  public readonly eventInvokeConfigs: lambda.EventInvokeConfig[] = [];

  public constructor(scope: Construct, id: string, props: LambdaAgentCompletionProps) {
    super(scope, id);
    const errors = destinationAgentErrors(props.agents, Stack.of(this));
    if (errors.length > 0) {
      throw new Error(`Invalid LambdaAgentCompletion props (${this.node.path}):\n- ${errors.join('\n- ')}`);
    }
    this.completionFunction = new SettleFunction(this, 'Function', {
      ...props,
      role: FunctionRole.Completion,
      description: 'Completes async Lambda agent attempts from their invocation records',
    });
    const destination = new CompletionDestination(this.completionFunction);
    for (const { fn, types, heartbeatSeconds } of destinationAgents(props.agents)) {
      const functionTimeout = agentFunctionTimeout(props.agents[types[0]!]!)!.toSeconds();
      const config = new lambda.EventInvokeConfig(fn, EVENT_INVOKE_CONFIG_ID, {
        function: fn,
        retryAttempts: 0,
        maxEventAge: Duration.seconds(maxEventAgeSeconds(heartbeatSeconds, functionTimeout)),
        onSuccess: destination,
        onFailure: destination,
      });
      // Lambda checks that the agent's role may invoke the destination when the config is created.
      if (fn.role) config.node.addDependency(fn.role);
      this.eventInvokeConfigs.push(config);
    }
  }
}
