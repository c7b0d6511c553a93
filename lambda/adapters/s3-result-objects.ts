/**
 * The task bucket (the results bucket): the JSON text of a result too large to store in its record cheaply
 * (result-storage.ts), one object per successful write, and of a payload too large to travel in its queue message
 * cheaply (payload-storage.ts), one object per accepted request. The S3 client is loaded on first use, from a file
 * of its own (s3-sdk.ts): most tasks never touch the bucket, and a cold start does not compile the client.
 */
import type { S3Client } from './s3-sdk';

/** What the task store needs of the bucket. */
export interface ResultObjects {
  put(key: string, text: string): Promise<void>;
  /** The object's text; throws when there is none. */
  get(key: string): Promise<string>;
}

type S3Module = typeof import('./s3-sdk');

let loaded: Promise<{ sdk: S3Module; client: S3Client }> | undefined;

/** The client, created once per execution environment; its endpoint comes from the SDK's configuration. */
function s3(): Promise<{ sdk: S3Module; client: S3Client }> {
  // A file of its own in the bundle's folder (s3-sdk.ts): compiled when the bucket is first used, not at init.
  loaded ??= import('./s3-sdk').then((sdk) => ({ sdk, client: new sdk.S3Client({}) }));
  return loaded;
}

export class S3ResultObjects implements ResultObjects {
  public constructor(private readonly bucketName: string) {}

  public async put(key: string, text: string): Promise<void> {
    const { sdk, client } = await s3();
    await client.send(
      new sdk.PutObjectCommand({
        Bucket: this.bucketName,
        Key: key,
        Body: text,
        ContentType: 'application/json; charset=utf-8',
      }),
    );
  }

  public async get(key: string): Promise<string> {
    const { sdk, client } = await s3();
    const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucketName, Key: key }));
    if (!out.Body) throw new Error(`the object ${key} has no body`);
    return out.Body.transformToString('utf-8');
  }
}
