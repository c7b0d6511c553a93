/**
 * Structured JSON logs. The level comes from POWERTOOLS_LOG_LEVEL (set by the construct's `logLevel`).
 * Payloads and results are never logged: only ids, types, tiers, attempts and error codes.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'agent-task-queue' });
