import { judge } from '../../../chaos/fuzz/judge';
import type { FuzzResponse } from '../../../chaos/fuzz/wire';

const jsonAnswer = (status: number, body: unknown): FuzzResponse => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(body),
});

const error = (code: string) => ({ error: { code, message: 'why' } });

describe('Function: judge', () => {
  it('passes a 4xx with our error body when no answers are listed', () => {
    // Act & Assess
    expect(judge(jsonAnswer(400, error('ValidationError')))).toBeUndefined();
  });

  it("passes API Gateway's own 404 and 413 answers", () => {
    // Act & Assess
    expect(judge(jsonAnswer(404, { message: 'Not Found' }), ['404 Not Found'])).toBeUndefined();
    expect(judge(jsonAnswer(413, { message: 'Request Entity Too Large' }))).toBeUndefined();
  });

  it.each([200, 202, 500, 503])('flags an answer with status %i', (status) => {
    // Act & Assess
    expect(judge(jsonAnswer(status, error('InternalError')))).toMatch(new RegExp(`^answered ${status}`));
  });

  it('flags an error body without a code', () => {
    // Act & Assess
    expect(judge(jsonAnswer(401, { message: 'Unauthorized' }))).toMatch(
      /without \{ error: \{ code, message \} \}/,
    );
  });

  it('flags a code the API does not define', () => {
    // Act & Assess
    expect(judge(jsonAnswer(401, error('Forbidden')))).toMatch(/unknown error code Forbidden/);
    expect(judge(jsonAnswer(400, error('toString')))).toMatch(/unknown error code toString/);
  });

  it('flags a code answered with a status other than its own', () => {
    // Act & Assess
    expect(judge(jsonAnswer(400, error('Unauthorized')))).toBe(
      'answered 400 with the code Unauthorized, whose status is 401',
    );
  });

  it('flags an answer that is not one of the listed ones', () => {
    // Prepare: a token no attempt was given must never be recognised as a stale one.
    const answers = ['401 Unauthorized'];

    // Act
    const problem = judge(jsonAnswer(409, error('AttemptNotCurrent')), answers);

    // Assess
    expect(problem).toMatch(/^answered 409 AttemptNotCurrent, not 401 Unauthorized/);
  });

  it('passes an answer that is one of the listed ones', () => {
    // Act & Assess
    expect(
      judge(jsonAnswer(400, error('InvalidJson')), [
        '400 InvalidJson',
        '400 ValidationError',
        '401 Unauthorized',
      ]),
    ).toBeUndefined();
  });

  it("does not take API Gateway's shape for a listed code", () => {
    // Act & Assess: `{message}` is API Gateway's own answer only with its exact message.
    expect(judge(jsonAnswer(404, { message: 'NotFound' }), ['404 NotFound'])).toMatch(/without \{ error/);
  });
});
