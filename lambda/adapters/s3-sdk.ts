/**
 * The S3 client, as the functions load it: on first use, from a file of its own beside the handler's bundle
 * (`s3-sdk.js`, HandlerFunction's `LAZY_CHUNKS`), so that a cold start does not compile it. Most tasks never
 * touch the task bucket, and the client's code cost about 40 ms of init CPU in every bundle that carried it
 * (BENCHMARKS.md, figure 1). Only s3-result-objects.ts imports this module, with `import('./s3-sdk')`.
 */
export { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
