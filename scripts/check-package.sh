#!/usr/bin/env bash
# Checks the package as a user gets it: packs this repository (prepack builds dist/), installs the tarball in a
# fresh project beside aws-cdk-lib, constructs, tsx, esbuild and typescript, writes the README's app (a
# NodejsFunction `Shout` as a Lambda agent of a TaskQueue), type-checks it, synthesizes it and asserts that the
# template has the TaskQueue, its agent and the construct's prebuilt handler bundles as assets.
#
#   scripts/check-package.sh            # the temp project is removed at the end
#   KEEP=1 scripts/check-package.sh     # keep it, and print its folder
#
# Needs the npm registry. The project also installs node@22 (as this repository does): the construct needs
# Node 22 to load, and the system Node may be older.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
started=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/pkgtest-XXXX")
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "check-package: kept $work"; fi; }
trap cleanup EXIT

echo "check-package: npm pack"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
ls -l "$work/$tarball"

cd "$work"
npm init -y >/dev/null
echo "check-package: npm install $tarball aws-cdk-lib constructs tsx esbuild typescript node@22"
npm install --no-audit --no-fund --loglevel=error \
  "./$tarball" aws-cdk-lib constructs tsx esbuild typescript node@22

cat >shout.ts <<'EOF'
export const handler = async (event: { payload?: { text?: string } }) => ({
  text: String(event.payload?.text ?? '').toUpperCase(),
});
EOF
cat >app.ts <<'EOF'
import { App, Stack } from 'aws-cdk-lib';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { TaskQueue } from 'agent-task-queue';

const app = new App();
const stack = new Stack(app, 'MyStack');
const shout = new NodejsFunction(stack, 'Shout', { entry: 'shout.ts' });
new TaskQueue(stack, 'Queue', { agents: { shout: { kind: 'lambda', function: shout } } });
EOF
echo '{"app": "npx tsx app.ts"}' >cdk.json
# ESNext.Disposable: aws-cdk-lib's own declarations name `Disposable`. No skipLibCheck: the package's declarations
# must type-check in a project that has neither @types/node nor @types/aws-lambda.
cat >tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "nodenext",
    "strict": true,
    "lib": ["ES2022", "ESNext.Disposable"],
    "noEmit": true
  },
  "files": ["app.ts", "shout.ts"]
}
EOF

echo "check-package: tsc --noEmit (the package's declarations, without skipLibCheck)"
npx tsc -p tsconfig.json

echo "check-package: ESM import and the taskq bin"
echo "import { TaskQueue } from 'agent-task-queue'; if (typeof TaskQueue !== 'function') process.exit(1);" >esm.mts
npx tsx esm.mts
npx taskq --help | grep -q '^Usage: taskq'

echo "check-package: synth"
synth_started=$(date +%s%N)
CDK_OUTDIR=out npx tsx app.ts
echo "check-package: synth took $(( ($(date +%s%N) - synth_started) / 1000000 )) ms"

node - <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const template = JSON.parse(fs.readFileSync('out/MyStack.template.json', 'utf8'));
const resources = Object.entries(template.Resources);
const fail = (message) => {
  console.error(`check-package: FAIL: ${message}`);
  process.exit(1);
};
const functions = resources.filter(([, r]) => r.Type === 'AWS::Lambda::Function');
const shout = functions.find(([id]) => id.startsWith('Shout'));
if (!shout) fail('no Shout function in the template');
const queues = resources.filter(([id, r]) => r.Type === 'AWS::SQS::Queue' && id.startsWith('Queue'));
if (queues.length === 0) fail('no queue of the TaskQueue in the template');
const tables = resources.filter(([id, r]) => r.Type === 'AWS::DynamoDB::Table' && id.startsWith('Queue'));
if (tables.length === 0) fail('no task table of the TaskQueue in the template');
// The agent: the consumer's configuration names `shout`, and the consumer may invoke the Shout function.
const text = JSON.stringify(template);
if (!text.includes('"shout"') && !text.includes('\\"shout\\"')) fail('the agent type `shout` is not in the template');
const invokesShout = resources.some(
  ([, r]) =>
    r.Type === 'AWS::IAM::Policy' &&
    JSON.stringify(r.Properties.PolicyDocument).includes('lambda:InvokeFunction') &&
    JSON.stringify(r.Properties.PolicyDocument).includes(shout[0]),
);
if (!invokesShout) fail('no policy lets the queue invoke the Shout function');
// Every function's code is an asset of the assembly, holding an index.js; the construct's own are its
// prebuilt bundles (their source maps name lambda/handlers/<name>.ts).
const ownHandlers = new Set();
for (const [id, r] of functions) {
  const key = r.Properties.Code?.S3Key;
  if (typeof key !== 'string') fail(`${id} has no asset code`);
  const dir = path.join('out', `asset.${key.replace(/\.zip$/, '')}`);
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
  `check-package: ok: ${functions.length} functions with asset code (construct handlers: ${[...ownHandlers].sort().join(', ')}), ` +
    `${queues.length} queues, the shout agent`,
);
EOF
echo "check-package: ok in $(( $(date +%s) - started )) s ($ROOT)"
