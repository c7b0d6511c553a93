/**
 * What the integration suites add to the environment of every process they start that synthesizes a CDK app (a
 * local runtime, `taskq local`, the chaos run), and to the global setup's synth of the demo app: CDK's built-in
 * CloudFormation validation off (`CDK_VALIDATION=false`, which aws-cdk-lib reads at synth).
 *
 * The validation costs about 6.5 s of CPU per synth of the demo app on these machines (10.6 s with it, 4.0 s
 * without), and a `npm test` on a clean clone synthesizes seven or eight times: five configurations of the demo app
 * and the two fixture apps, once each, as none is in the synth cache yet. These suites test what runs, not the
 * template's validity. The template is validated where it is made: strictly, its findings fatal, by
 * test/infra/task-queue-stack.test.ts (and the events and async-agents stacks by their infra tests), and by
 * `.ci/run`'s `npx cdk synth` and scripts/check-example.sh. `npm start` and `taskq local` keep it on.
 *
 * Only children get it: jest's own process must keep the validation on, as the infra tests that run it share
 * its workers.
 */
export const SYNTH_ENV: Readonly<Record<string, string>> = { CDK_VALIDATION: 'false' };

/** Runs `fn` with {@link SYNTH_ENV} in this process's environment, and puts the environment back afterwards. */
export async function withSynthEnv<T>(fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(SYNTH_ENV).map((name) => [name, process.env[name]]));
  Object.assign(process.env, SYNTH_ENV);
  try {
    return await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
