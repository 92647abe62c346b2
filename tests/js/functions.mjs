// Durable functions written with the official AWS durable execution SDK for JavaScript; their
// twins on perdure's SDK are in tests/e2e/flows/js_twins.py (same operations, same names).
import { withDurableExecution } from "@aws/durable-execution-sdk-js";

// Two steps around a wait, and a step that fails twice before it succeeds.
export const journey = withDurableExecution(async (event, context) => {
  const first = await context.step("first", async () => (event.n ?? 1) * 10);
  await context.wait("pause", { seconds: 30 });
  const attempts = await context.step(
    "flaky",
    async (step) => {
      if (step.attempt <= 2) throw new Error(`attempt ${step.attempt} failed`);
      return step.attempt;
    },
    { retryStrategy: (error, attemptCount) => ({ shouldRetry: attemptCount < 4, delay: { seconds: 3 } }) },
  );
  const second = await context.step("second", async () => first + 1);
  return { first, second, attempts };
});

// Waits for an external system to complete a callback (its id is in the history).
export const approval = withDurableExecution(async (event, context) => {
  const [answer] = await context.createCallback("approval", { timeout: { hours: 1 } });
  return { answer: await answer };
});
