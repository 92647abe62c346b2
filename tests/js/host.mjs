// A Lambda Invoke API host for durable functions written with the official JavaScript SDK.
//
//   node host.mjs [--port PORT] NAME=MODULE:EXPORT ...
//
// serves POST /2015-03-31/functions/NAME/invocations: the body is the invocation event;
// the handler is called as Lambda calls it, handler(event, context), and its value is the
// answer. An error that escapes the handler is answered as Lambda answers it: header
// X-Amz-Function-Error: Unhandled and {errorType, errorMessage, stackTrace}. The functions
// find the engine through AWS_ENDPOINT_URL_LAMBDA, a region and credentials in the
// environment, as on Lambda. Prints "js host: listening on http://127.0.0.1:PORT".
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const args = process.argv.slice(2);
let port = 0;
const specs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--port") port = Number(args[++i]);
  else specs.push(args[i]);
}

const handlers = new Map();
for (const spec of specs) {
  const [name, target] = spec.split("=", 2);
  const [file, exported] = target.split(":", 2);
  const module = await import(pathToFileURL(resolve(file)).href);
  if (typeof module[exported] !== "function") throw new Error(`${target}: no function ${exported}`);
  handlers.set(name, module[exported]);
}

const ROUTE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const TIMEOUT_MS = 15 * 60 * 1000;

function answer(response, status, body, headers = {}) {
  const text = JSON.stringify(body);
  response.writeHead(status, { "Content-Type": "application/json", ...headers });
  response.end(text);
}

function context(name) {
  const deadline = Date.now() + TIMEOUT_MS;
  return {
    functionName: name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? "us-east-1"}:123456789012:function:${name}`,
    memoryLimitInMB: "128",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: "local",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
}

const server = createServer((request, response) => {
  const match = request.method === "POST" ? ROUTE.exec(request.url ?? "") : null;
  const handler = match ? handlers.get(decodeURIComponent(match[1])) : undefined;
  if (!handler) {
    answer(response, 404, { Type: "User", Message: `no function at ${request.method} ${request.url}` });
    return;
  }
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", async () => {
    try {
      const event = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      const output = await handler(event, context(decodeURIComponent(match[1])));
      answer(response, 200, output ?? null);
    } catch (error) {
      const stack = String(error?.stack ?? "").split("\n").slice(1).map((line) => line.trim());
      answer(
        response,
        200,
        { errorType: error?.name ?? "Error", errorMessage: String(error?.message ?? error), stackTrace: stack },
        { "X-Amz-Function-Error": "Unhandled" },
      );
    }
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`js host: listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
