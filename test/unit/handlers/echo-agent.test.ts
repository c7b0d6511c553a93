import { handler } from '../../../lambda/handlers/echo-agent';

describe('Handler: echo-agent', () => {
  it('answers the agent protocol request with its payload under echo', async () => {
    // Prepare
    const request = {
      task_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
      type: 'echo',
      payload: { a: [1] },
      attempt: 1,
      deadline: '2026-01-01T00:01:00.000Z',
    };

    // Act
    const result = await handler(request);

    // Assess
    expect(result).toEqual({ echo: { a: [1] } });
  });
});
