// The logger module builds the function's logger when it loads, from LOG_LEVEL.
import '../support/log-level-info';
import { Logger } from '../../../lambda/adapters/logger';

const NOW = new Date('2026-01-01T00:00:00.000Z');

/** A Logger at `level` whose writes are kept: each write's text, as one string. */
function capture(level: ConstructorParameters<typeof Logger>[0]) {
  const writes: string[] = [];
  const logger = new Logger(
    level,
    (text) => writes.push(text),
    () => NOW,
  );
  const lines = () =>
    writes
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, writes, lines };
}

describe('Class: Logger', () => {
  it('writes a JSON line of level, message, timestamp and the fields, with nothing else', () => {
    // Prepare
    const { logger, writes } = capture('INFO');

    // Act
    logger.info('task accepted', { task_id: 't-1', type: 'echo', priority: 'low', attempt: 0 });
    logger.flush();

    // Assess: the exact line, in this order (the bytes are paid for once per task)
    expect(writes).toEqual([
      '{"level":"INFO","message":"task accepted","timestamp":"2026-01-01T00:00:00.000Z","task_id":"t-1","type":"echo","priority":"low","attempt":0}\n',
    ]);
  });

  it('gathers the INFO and DEBUG lines of an invocation into one write, at flush', () => {
    // Prepare
    const { logger, writes, lines } = capture('DEBUG');

    // Act
    logger.debug('task claimed', { task_id: 't-1' });
    logger.info('task succeeded', { task_id: 't-1' });
    logger.raw('{"_aws":{}}');
    const beforeFlush = writes.length;
    logger.flush();

    // Assess
    expect(beforeFlush).toBe(0);
    expect(writes).toHaveLength(1);
    expect(lines().map((l) => l.message ?? '_aws')).toEqual(['task claimed', 'task succeeded', '_aws']);
  });

  it.each(['warn', 'error'] as const)(
    'writes a %s line at once, with the lines gathered before it, so that a crash after it keeps it',
    (method) => {
      // Prepare
      const { logger, writes, lines } = capture('INFO');
      logger.info('task succeeded', { task_id: 't-1' });

      // Act
      logger[method]('delivery failed; it will be retried', { messageId: 'm-1' });

      // Assess
      expect(writes).toHaveLength(1);
      expect(lines().map((l) => l.level)).toEqual(['INFO', method.toUpperCase()]);
    },
  );

  it('writes nothing at flush when nothing was gathered', () => {
    // Prepare
    const { logger, writes } = capture('INFO');

    // Act
    logger.flush();

    // Assess
    expect(writes).toEqual([]);
  });

  it.each([
    ['DEBUG', ['DEBUG', 'INFO', 'WARN', 'ERROR']],
    ['INFO', ['INFO', 'WARN', 'ERROR']],
    ['WARN', ['WARN', 'ERROR']],
    ['ERROR', ['ERROR']],
    ['SILENT', []],
  ] as const)('at level %s writes the lines of %j', (level, expected) => {
    // Prepare
    const { logger, lines } = capture(level);

    // Act
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.flush();

    // Assess
    expect(lines().map((l) => l.level)).toEqual(expected);
  });

  it('keeps its own level, message and timestamp when a field has the same name', () => {
    // Prepare
    const { logger, lines } = capture('INFO');

    // Act
    logger.info('task succeeded', { level: 'DEBUG', message: 'forged', timestamp: 'then', task_id: 't-1' });
    logger.flush();

    // Assess
    expect(lines()).toEqual([
      { level: 'INFO', message: 'task succeeded', timestamp: NOW.toISOString(), task_id: 't-1' },
    ]);
  });

  it('writes an Error field as its name, message, stack and cause, not as {}', () => {
    // Prepare
    const { logger, lines } = capture('INFO');
    const error = new Error('UpdateItem failed', { cause: new TypeError('socket hang up') });

    // Act
    logger.error('delivery failed; it will be retried', { error });

    // Assess
    const written = lines()[0]!.error as Record<string, unknown>;
    expect(written).toMatchObject({
      name: 'Error',
      message: 'UpdateItem failed',
      cause: { name: 'TypeError', message: 'socket hang up' },
    });
    expect(written.stack).toContain('UpdateItem failed');
  });

  it('writes early when an invocation gathers more than 64 KiB, so that a long batch holds little', () => {
    // Prepare
    const { logger, writes } = capture('INFO');

    // Act: 100 lines of about 1 KB each
    for (let i = 0; i < 100; i++) logger.info('task succeeded', { pad: 'x'.repeat(1000) });

    // Assess
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((w) => w.length <= 64 * 1024 + 1200)).toBe(true);
  });

  it('writes to stdout by default', () => {
    // Prepare
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const logger = new Logger('INFO');

    // Act
    logger.info('task accepted');
    logger.flush();

    // Assess
    expect(write).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(write.mock.calls[0]![0]))).toMatchObject({ message: 'task accepted' });
    write.mockRestore();
  });
});
