/** Messages between the pool (lambda-pool.ts) and an execution environment (lambda-worker.cjs). */

export interface WorkerInit {
  readonly codePath: string;
  /** `file.export`, relative to codePath, as in the function's `Handler` property. */
  readonly handler: string;
  readonly functionName: string;
  readonly functionArn: string;
  readonly memorySize: number;
  readonly logGroupName: string;
}

export interface InvokeRequest {
  readonly id: number;
  readonly event: unknown;
  readonly requestId: string;
  /** Epoch milliseconds at which the invocation times out. */
  readonly deadline: number;
}

/** An error as Lambda reports it. */
export interface LambdaError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'init-error'; readonly error: LambdaError }
  | { readonly type: 'result'; readonly id: number; readonly result: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: LambdaError };
