import {
  ENVELOPE_SCHEMA_VERSION,
  TASK_ID_PATTERN,
  type TaskEnvelope,
  type TaskRecord,
  TaskStatus,
} from '../../../lambda/core/task';
import {
  cancelledDeliveryRecord,
  deliveryEnvelope,
  deliveryEnvelopes,
  deliveryTaskId,
  isPublishEnvelope,
  isPublishedRecord,
  publishedExpiresAt,
  publishedRecord,
  publishedStatus,
  publishedView,
  retentionEnd,
} from '../../../lambda/core/topics';

const PUBLISHED_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const OTHER_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const CREATED = '2026-01-01T00:00:00.000Z';

const publish: TaskEnvelope = {
  schema_version: ENVELOPE_SCHEMA_VERSION,
  task_id: PUBLISHED_ID,
  enqueue_id: 'enqueue-1',
  type: 'document.uploaded',
  priority: 'low',
  payload: { doc: 'a.pdf' },
  created_at: CREATED,
  request_hash: 'hash',
  tenant_id: 'acme',
  subscribers: ['summarize', 'index'],
};

const published = publishedRecord(publish, 1_000_000) as TaskRecord & { readonly subscribers: string[] };

/** The record of the delivery of `published` to `subscriber`, as its claims would have written it. */
function delivery(subscriber: string, status: TaskStatus, extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    task_id: deliveryTaskId(PUBLISHED_ID, subscriber),
    type: subscriber,
    priority: 'low',
    tenant_id: 'acme',
    status,
    attempts: 1,
    created_at: CREATED,
    updated_at: '2026-01-01T00:00:10.000Z',
    request_hash: 'hash',
    enqueue_id: 'enqueue-1',
    topic: 'document.uploaded',
    published_task_id: PUBLISHED_ID,
    ...extra,
  };
}

const byId = (...records: TaskRecord[]) => new Map(records.map((r) => [r.task_id, r]));

describe('Function: deliveryTaskId', () => {
  it('is the same every time for one published task and subscriber', () => {
    // Act / Assess
    expect(deliveryTaskId(PUBLISHED_ID, 'summarize')).toBe(deliveryTaskId(PUBLISHED_ID, 'summarize'));
  });

  it('differs between the subscribers of one task, and between tasks for one subscriber', () => {
    // Act
    const ids = [
      deliveryTaskId(PUBLISHED_ID, 'summarize'),
      deliveryTaskId(PUBLISHED_ID, 'index'),
      deliveryTaskId(OTHER_ID, 'summarize'),
      deliveryTaskId(OTHER_ID, 'index'),
    ];

    // Assess
    expect(new Set(ids).size).toBe(4);
    expect(ids).not.toContain(PUBLISHED_ID);
  });

  it('is a task id (a lowercase UUID) that GET /tasks/{id} accepts', () => {
    // Act
    const id = deliveryTaskId(PUBLISHED_ID, 'summarize');

    // Assess
    expect(id).toMatch(TASK_ID_PATTERN);
  });
});

describe('Function: publishedStatus', () => {
  const { QUEUED, RUNNING, RETRYING, SUCCEEDED, FAILED, CANCELLED } = TaskStatus;

  it.each([
    // Every delivery terminal: FAILED if any failed, else SUCCEEDED if any succeeded, else CANCELLED.
    [[FAILED, SUCCEEDED], FAILED],
    [[CANCELLED, FAILED], FAILED],
    [[FAILED, FAILED], FAILED],
    [[SUCCEEDED, CANCELLED], SUCCEEDED],
    [[SUCCEEDED, SUCCEEDED], SUCCEEDED],
    [[CANCELLED, CANCELLED], CANCELLED],
    [[CANCELLED], CANCELLED],
    // Not every delivery terminal: RUNNING if any runs, else RETRYING if any retries, else QUEUED.
    [[RUNNING, FAILED], RUNNING],
    [[RUNNING, RETRYING, QUEUED], RUNNING],
    [[RETRYING, QUEUED], RETRYING],
    [[RETRYING, SUCCEEDED], RETRYING],
    [[QUEUED, FAILED], QUEUED],
    [[QUEUED, SUCCEEDED], QUEUED],
    [[QUEUED, QUEUED], QUEUED],
  ] as const)('derives %j → %s', (statuses, expected) => {
    // Act / Assess
    expect(publishedStatus(statuses)).toBe(expected);
  });

  it('is QUEUED with no deliveries at all, never a terminal status', () => {
    // Act / Assess
    expect(publishedStatus([])).toBe(QUEUED);
  });
});

describe('Function: deliveryEnvelope', () => {
  it('addresses the same task to one subscriber: its own id, the subscriber as type, the topic and the published id', () => {
    // Act
    const envelope = deliveryEnvelope(publish, 'index');

    // Assess
    expect(envelope).toEqual({
      schema_version: ENVELOPE_SCHEMA_VERSION,
      task_id: deliveryTaskId(PUBLISHED_ID, 'index'),
      enqueue_id: 'enqueue-1',
      type: 'index',
      priority: 'low',
      payload: { doc: 'a.pdf' },
      created_at: CREATED,
      request_hash: 'hash',
      tenant_id: 'acme',
      topic: 'document.uploaded',
      published_task_id: PUBLISHED_ID,
    });
    expect(isPublishEnvelope(envelope)).toBe(false);
  });

  it('makes one envelope per subscriber, in the order of the subscribers', () => {
    // Act
    const envelopes = deliveryEnvelopes(publish);

    // Assess
    expect(envelopes.map((e) => [e.type, e.task_id])).toEqual([
      ['summarize', deliveryTaskId(PUBLISHED_ID, 'summarize')],
      ['index', deliveryTaskId(PUBLISHED_ID, 'index')],
    ]);
  });

  it('makes none of an envelope that is not a publish message', () => {
    // Prepare
    const { subscribers: _, ...task } = publish;

    // Act / Assess
    expect(isPublishEnvelope(task)).toBe(false);
    expect(deliveryEnvelopes(task)).toEqual([]);
  });
});

describe('Function: publishedRecord', () => {
  it('is a QUEUED record of the topic, with its subscribers, the enqueue id and the expiry given', () => {
    // Act
    const record = publishedRecord(publish, 1_234);

    // Assess
    expect(record).toEqual({
      task_id: PUBLISHED_ID,
      type: 'document.uploaded',
      priority: 'low',
      tenant_id: 'acme',
      status: 'QUEUED',
      attempts: 0,
      created_at: CREATED,
      updated_at: CREATED,
      request_hash: 'hash',
      enqueue_id: 'enqueue-1',
      topic: 'document.uploaded',
      subscribers: ['summarize', 'index'],
      expires_at: 1_234,
    });
    expect(isPublishedRecord(record)).toBe(true);
  });

  it('expires twice the task retention after its creation', () => {
    // Act / Assess
    expect(publishedExpiresAt(new Date(CREATED), 600)).toBe(Date.parse(CREATED) / 1000 + 1200);
  });
});

describe('Function: cancelledDeliveryRecord', () => {
  it('is the delivery, CANCELLED and finished now, tied to its published task and expiring when told', () => {
    // Prepare
    const now = new Date('2026-01-01T00:01:00.000Z');

    // Act
    const record = cancelledDeliveryRecord(published, 'index', now, 5_000);

    // Assess
    expect(record).toEqual({
      task_id: deliveryTaskId(PUBLISHED_ID, 'index'),
      type: 'index',
      priority: 'low',
      tenant_id: 'acme',
      status: 'CANCELLED',
      attempts: 0,
      created_at: CREATED,
      updated_at: now.toISOString(),
      finished_at: now.toISOString(),
      request_hash: 'hash',
      enqueue_id: 'enqueue-1',
      topic: 'document.uploaded',
      published_task_id: PUBLISHED_ID,
      expires_at: 5_000,
    });
    expect(isPublishedRecord(record)).toBe(false);
  });
});

describe('Function: publishedView', () => {
  it('shows every delivery without a record QUEUED with no attempts, and the task QUEUED', () => {
    // Act
    const view = publishedView(published, new Map());

    // Assess
    expect(view).toEqual({
      task_id: PUBLISHED_ID,
      type: 'document.uploaded',
      priority: 'low',
      tenant_id: 'acme',
      topic: 'document.uploaded',
      status: 'QUEUED',
      attempts: 0,
      created_at: CREATED,
      updated_at: CREATED,
      deliveries: {
        summarize: { task_id: deliveryTaskId(PUBLISHED_ID, 'summarize'), status: 'QUEUED', attempts: 0 },
        index: { task_id: deliveryTaskId(PUBLISHED_ID, 'index'), status: 'QUEUED', attempts: 0 },
      },
    });
  });

  it("shows the deliveries without a record FAILED with the published record's error once it has failed", () => {
    // Prepare: the publish message was dead-lettered before it fanned out; the sweep failed the record.
    const error = { code: 'MaxReceivesExceeded', message: 'dead-lettered' };
    const failed = {
      ...published,
      status: TaskStatus.FAILED,
      error,
      finished_at: '2026-01-02T00:00:00.000Z',
    };

    // Act
    const view = publishedView(failed, byId(delivery('summarize', TaskStatus.SUCCEEDED)));

    // Assess
    expect(view.deliveries?.index).toEqual({
      task_id: deliveryTaskId(PUBLISHED_ID, 'index'),
      status: 'FAILED',
      attempts: 0,
      error,
      finished_at: '2026-01-02T00:00:00.000Z',
    });
    expect(view.deliveries?.summarize?.status).toBe('SUCCEEDED');
    expect(view.status).toBe('FAILED');
  });

  it('sums the attempts, starts at the earliest start, and shows each delivery its own result or error', () => {
    // Prepare
    const deliveries = byId(
      delivery('summarize', TaskStatus.SUCCEEDED, {
        attempts: 1,
        started_at: '2026-01-01T00:00:05.000Z',
        finished_at: '2026-01-01T00:00:06.000Z',
        result: { summary: 'short' },
      }),
      delivery('index', TaskStatus.RETRYING, {
        attempts: 2,
        started_at: '2026-01-01T00:00:02.000Z',
        error: { code: 'AgentHttp503', message: 'busy' },
        updated_at: '2026-01-01T00:00:30.000Z',
      }),
    );

    // Act
    const view = publishedView(published, deliveries);

    // Assess
    expect(view.status).toBe('RETRYING');
    expect(view.attempts).toBe(3);
    expect(view.started_at).toBe('2026-01-01T00:00:02.000Z');
    expect(view.finished_at).toBeUndefined();
    expect(view.updated_at).toBe('2026-01-01T00:00:30.000Z');
    expect(view.deliveries).toEqual({
      summarize: {
        task_id: deliveryTaskId(PUBLISHED_ID, 'summarize'),
        status: 'SUCCEEDED',
        attempts: 1,
        result: { summary: 'short' },
        started_at: '2026-01-01T00:00:05.000Z',
        finished_at: '2026-01-01T00:00:06.000Z',
      },
      index: {
        task_id: deliveryTaskId(PUBLISHED_ID, 'index'),
        status: 'RETRYING',
        attempts: 2,
        error: { code: 'AgentHttp503', message: 'busy' },
        started_at: '2026-01-01T00:00:02.000Z',
      },
    });
    expect(view).not.toHaveProperty('result');
    expect(view).not.toHaveProperty('error');
  });

  it('finishes at the latest delivery finish once every delivery has ended', () => {
    // Prepare
    const deliveries = byId(
      delivery('summarize', TaskStatus.SUCCEEDED, {
        started_at: '2026-01-01T00:00:01.000Z',
        finished_at: '2026-01-01T00:00:09.000Z',
        result: 1,
      }),
      delivery('index', TaskStatus.FAILED, {
        started_at: '2026-01-01T00:00:01.000Z',
        finished_at: '2026-01-01T00:00:04.000Z',
        error: { code: 'AgentHttp400', message: 'bad input' },
      }),
    );

    // Act
    const view = publishedView(published, deliveries);

    // Assess
    expect(view.status).toBe('FAILED');
    expect(view.finished_at).toBe('2026-01-01T00:00:09.000Z');
    expect(view).not.toHaveProperty('result');
    expect(view).not.toHaveProperty('error');
  });

  it('ignores records that are not deliveries of this task', () => {
    // Prepare: a record of another published task's delivery
    const stranger = {
      ...delivery('index', TaskStatus.SUCCEEDED),
      task_id: deliveryTaskId(OTHER_ID, 'index'),
    };

    // Act
    const view = publishedView(published, byId(stranger));

    // Assess
    expect(view.deliveries?.index?.status).toBe('QUEUED');
    expect(view.status).toBe('QUEUED');
  });
});

describe('Function: retentionEnd', () => {
  const now = new Date('2026-06-01T01:00:00.000Z');
  const created = '2026-06-01T00:00:00.000Z';

  it('keeps a finished task retentionSeconds after now', () => {
    // Act & Assess
    expect(retentionEnd(now, 100, { created_at: created })).toBe(now.getTime() / 1000 + 100);
  });

  it('keeps a finished delivery at least as long as its published record, so the view never shows it unclaimed', () => {
    // Act
    const end = retentionEnd(now, 86_400, { created_at: created, published_task_id: 'p' });

    // Assess
    expect(end).toBe(publishedExpiresAt(new Date(created), 86_400));
    expect(end).toBeGreaterThan(now.getTime() / 1000 + 86_400);
  });
});
