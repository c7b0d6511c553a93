#!/usr/bin/env bash
# Checks the package as another team gets it, with ONE install of one fresh project: packs this repository
# (prepack builds dist/), copies examples/minimal-app into a temp folder beside the tarball, installs it (the
# tarball and the packages its package.json lists), then
#   - type-checks the app against the package's declarations (no skipLibCheck),
#   - imports the package as ESM and runs the taskq bin,
#   - synthesizes the app with cdk-nag's AwsSolutions pack (an unacknowledged finding fails the synth) and
#     asserts that the template has the TaskQueue, its `summarize` agent and the construct's prebuilt bundles,
#   - runs it under `npx taskq local` (which reads cdk.json) on free ports, completes a `summarize` task on the
#     app's own Lambda agent with `npx taskq submit --wait`, and stops the runtime with SIGTERM, checking that
#     DynamoDB Local's JVM is gone.
# Prints the duration of each step.
#
#   bash scripts/check-example.sh            # the temp folder is removed at the end
#   KEEP=1 bash scripts/check-example.sh     # keep it, and print its folder
#
# Needs the npm registry and a Java 17+ JDK (DynamoDB Local). The example installs node@22, so it runs on Node 22
# whatever the system Node is.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
started=$(date +%s%N)

work=$(mktemp -d "${TMPDIR:-/tmp}/taskq-example-XXXX")
app="$work/examples/minimal-app"
runtime_pid=''
npx_pid=''
dynamodb_port=''

# The processes whose command line (arguments joined by spaces) matches a case pattern, read from /proc: a bare
# Debian has no pgrep.
processes_matching() {
  local f cmd
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    case "$cmd" in $1) f=${f#/proc/} && echo "${f%/cmdline}" ;; esac
  done
}

# The JVMs of DynamoDB Local started for this run: their command line names the port it was given.
dynamodb_jvms() {
  [ -z "$dynamodb_port" ] || processes_matching "*java* -port $dynamodb_port *"
}

cleanup() {
  local status=$?
  for pid in $runtime_pid $npx_pid; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in $(dynamodb_jvms); do kill -KILL "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ] && [ -f "$work/local.log" ]; then
    echo "check-example: the output of taskq local:"
    sed 's/^/  | /' "$work/local.log"
  fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "check-example: kept $work"; fi
  exit "$status"
}
trap cleanup EXIT

step_name=''
step_started=0
summary=()
step() {
  local now
  now=$(date +%s%N)
  if [ -n "$step_name" ]; then
    local ms=$(((now - step_started) / 1000000))
    summary+=("$(printf '%8d ms  %s' "$ms" "$step_name")")
    echo "check-example: ${step_name}: ${ms} ms"
  fi
  step_name="$1"
  step_started=$now
  [ -z "$step_name" ] || echo "check-example: == $step_name"
}

fail() {
  echo "check-example: FAIL: $*" >&2
  exit 1
}

# A free loopback TCP port (another process may take it before we do; the runtime then says so and stops).
free_port() {
  node -e "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}

step 'npm pack'
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
# The example's package.json names the tarball without its version: file:../../agent-task-queue.tgz.
mv "$work/$tarball" "$work/agent-task-queue.tgz"
ls -l "$work/agent-task-queue.tgz"

step 'copy examples/minimal-app and npm install'
mkdir -p "$work/examples"
tar -C examples -cf - --exclude=node_modules --exclude='cdk.out' --exclude='cdk.*.out' \
  --exclude=package-lock.json minimal-app | tar -C "$work/examples" -xf -
cd "$app"
npm install --no-audit --no-fund --loglevel=error
npx node --version
[ "$(npx node -p 'process.versions.node.split(".")[0]')" -ge 22 ] || fail 'the example does not run on Node 22'
# The example takes the newest releases its ranges allow, as another team would: name them, since a new one can
# change what cdk-nag finds (aws-cdk-lib 2.278 added nodejs26.x, and with it an AwsSolutions-L1 finding).
npx node -p '["aws-cdk-lib", "cdk-nag", "aws-cdk"].map((p) => p + " " + require(p + "/package.json").version).join(", ")'

step 'tsc --noEmit (the package declarations, without skipLibCheck)'
# The example's tsconfig.json has no skipLibCheck: the package's declarations must type-check in a project that
# has neither @types/node nor @types/aws-lambda.
npx tsc -p tsconfig.json

step 'ESM import and the taskq bin'
echo "import { TaskQueue } from 'agent-task-queue'; if (typeof TaskQueue !== 'function') process.exit(1);" >esm.mts
npx tsx esm.mts
rm esm.mts
npx taskq --help | grep -q '^Usage: taskq' || fail 'npx taskq --help does not print the usage'

step 'cdk synth with cdk-nag'
# No AWS credentials: synthesizing needs no account. cdk-nag's findings fail the synth (Validations plugin).
env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  npx cdk synth --quiet --no-notices --output cdk.out
node - <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const template = JSON.parse(fs.readFileSync('cdk.out/MinimalApp.template.json', 'utf8'));
const resources = Object.entries(template.Resources);
const fail = (message) => {
  console.error(`check-example: FAIL: ${message}`);
  process.exit(1);
};
const functions = resources.filter(([, r]) => r.Type === 'AWS::Lambda::Function');
const summarize = functions.find(([id]) => id.startsWith('Summarize'));
if (!summarize) fail('no Summarize function in the template');
const queues = resources.filter(([id, r]) => r.Type === 'AWS::SQS::Queue' && id.startsWith('Queue'));
if (queues.length === 0) fail('no queue of the TaskQueue in the template');
const tables = resources.filter(([id, r]) => r.Type === 'AWS::DynamoDB::Table' && id.startsWith('Queue'));
if (tables.length === 0) fail('no task table of the TaskQueue in the template');
// The agent: the consumers' configuration names `summarize`, and a policy lets them invoke the function.
const text = JSON.stringify(template);
if (!text.includes('"summarize"') && !text.includes('\\"summarize\\"')) fail('the agent type `summarize` is not in the template');
const invokesSummarize = resources.some(
  ([, r]) =>
    r.Type === 'AWS::IAM::Policy' &&
    JSON.stringify(r.Properties.PolicyDocument).includes('lambda:InvokeFunction') &&
    JSON.stringify(r.Properties.PolicyDocument).includes(summarize[0]),
);
if (!invokesSummarize) fail('no policy lets the queue invoke the Summarize function');
// Every function's code is an asset of the assembly, holding an index.js; the construct's own are its prebuilt
// bundles (their source maps name lambda/handlers/<name>.ts).
const ownHandlers = new Set();
for (const [id, r] of functions) {
  const key = r.Properties.Code?.S3Key;
  if (typeof key !== 'string') fail(`${id} has no asset code`);
  const dir = path.join('cdk.out', `asset.${key.replace(/\.zip$/, '')}`);
  if (!fs.existsSync(path.join(dir, 'index.js'))) fail(`${id}: no index.js in ${dir}`);
  const map = path.join(dir, 'index.js.map');
  if (fs.existsSync(map)) {
    const sources = JSON.parse(fs.readFileSync(map, 'utf8')).sources;
    const own = sources.map((s) => /lambda\/handlers\/([a-z-]+)\.ts$/.exec(s)?.[1]).find(Boolean);
    if (own) ownHandlers.add(own);
  }
}
if (!ownHandlers.has('consumer') || !ownHandlers.has('enqueue')) {
  fail(`the construct's handler bundles are missing (found: ${[...ownHandlers].join(', ') || 'none'})`);
}
console.log(
  `check-example: template ok: ${functions.length} functions with asset code (construct handlers: ${[...ownHandlers].sort().join(', ')}), ` +
    `${queues.length} queues, the summarize agent`,
);
EOF

step 'npx taskq local: ready'
port=$(free_port)
aws_port=$(free_port)
dynamodb_port=$(free_port)
[ "$port" != "$aws_port" ] && [ "$port" != "$dynamodb_port" ] && [ "$aws_port" != "$dynamodb_port" ] ||
  fail "free_port gave the same port twice ($port $aws_port $dynamodb_port)"
# It reads `app` from cdk.json, as `cdk synth` does.
npx taskq local --port "$port" --aws-port "$aws_port" --dynamodb-port "$dynamodb_port" >"$work/local.log" 2>&1 &
npx_pid=$!
deadline=$(($(date +%s) + 240))
until grep -q 'ready in' "$work/local.log"; do
  kill -0 "$npx_pid" 2>/dev/null || fail 'taskq local exited before it was ready'
  [ "$(date +%s)" -lt "$deadline" ] || fail 'taskq local was not ready within 240 s'
  sleep 0.5
done
# npx does not pass SIGTERM on to the command it runs (in a terminal, Ctrl-C reaches both): the runtime is the
# node process that npx started, found by its command line.
runtime_pid=$(processes_matching "*node_modules/.bin/taskq local --port $port *")
[ -n "$runtime_pid" ] && [ "$(echo "$runtime_pid" | wc -l)" -eq 1 ] ||
  fail "not one taskq local process on port $port (${runtime_pid:-none})"
sed 's/^/  | /' "$work/local.log"
grep -q "summarize" "$work/local.log" || fail 'the banner does not list the summarize agent'

step 'npx taskq submit --wait on the Lambda agent'
result=$(npx taskq submit --type summarize --payload '{"text":"Queues shave peaks. Agents do the work."}' \
  --wait --timeout 120 --json --endpoint "http://127.0.0.1:$port")
echo "$result"
RESULT="$result" node -e '
const task = JSON.parse(process.env.RESULT);
const expected = { words: 7, summary: "Queues shave peaks." };
if (task.status !== "SUCCEEDED" || JSON.stringify(task.result) !== JSON.stringify(expected)) {
  console.error(`check-example: FAIL: expected SUCCEEDED with ${JSON.stringify(expected)}, got ${task.status} with ${JSON.stringify(task.result ?? task.error)}`);
  process.exit(1);
}'

step 'stop taskq local (SIGTERM)'
[ -n "$(dynamodb_jvms)" ] || fail "no DynamoDB Local JVM on port $dynamodb_port while the runtime ran"
kill -TERM "$runtime_pid"
stop_started=$(date +%s%N)
deadline=$(($(date +%s) + 20))
while kill -0 "$runtime_pid" 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail 'taskq local did not stop within 20 s of SIGTERM'
  sleep 0.1
done
echo "check-example: the runtime ended $((($(date +%s%N) - stop_started) / 1000000)) ms after SIGTERM"
while kill -0 "$npx_pid" 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail 'taskq local did not stop within 20 s of SIGTERM'
  sleep 0.2
done
code=0
wait "$npx_pid" || code=$?
[ "$code" -eq 0 ] || fail "taskq local exited with $code on SIGTERM"
runtime_pid=''
npx_pid=''
for _ in $(seq 1 25); do [ -z "$(dynamodb_jvms)" ] && break; sleep 0.2; done
[ -z "$(dynamodb_jvms)" ] || fail "DynamoDB Local's JVM still runs after taskq local stopped"
grep -q 'stopping' "$work/local.log" || fail 'taskq local did not say it was stopping'

step ''
echo "check-example: step durations"
printf '%s\n' "${summary[@]}"
echo "check-example: ok in $((($(date +%s%N) - started) / 1000000000)) s ($ROOT)"
