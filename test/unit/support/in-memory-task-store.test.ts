/** The in-memory fake of the use-case tests, held to the task store's contract (the same cases as DynamoDB Local). */
import { describeTaskStoreContract } from '../../support/task-store-contract';
import { InMemoryTaskStore } from './in-memory';

describe('Class: InMemoryTaskStore, the task store contract', () => {
  describeTaskStoreContract(() => new InMemoryTaskStore());
});
