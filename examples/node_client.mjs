// Node (18+, no dependencies) talking to Venice through venice-agent's Unix socket.
//   VENICE_AGENT_SOCK=/path/to/agent.sock node examples/node_client.mjs [OUT_DIR]
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const socketPath = process.env.VENICE_AGENT_SOCK;
if (!socketPath) throw new Error("set VENICE_AGENT_SOCK to the agent socket");
const out = process.argv[2] ?? ".";
fs.mkdirSync(out, { recursive: true });

// One request over the socket; resolves with { status, headers, body: Buffer }.
function call(method, urlPath, json) {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    const req = http.request(
      { socketPath, method, path: urlPath, headers: body ? { "content-type": "application/json", "content-length": body.length } : {} },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

function must(res) {
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}: ${res.body.toString()}`);
  return res;
}

const status = JSON.parse(must(await call("GET", "/agent/v1/status")).body);
console.log(`agent for ${status.address}, locked: ${status.locked}`);

const image = JSON.parse(must(await call("POST", "/api/v1/image/generate",
  { model: "z-image-turbo", prompt: "a paper boat on a pond", width: 256, height: 256, format: "png" })).body);
const png = path.join(out, "node-image.png");
fs.writeFileSync(png, Buffer.from(image.images[0], "base64"));
console.log(png);

const balance = JSON.parse(must(await call("GET", "/api/v1/x402/balance/me")).body);
console.log(`balance: $${balance.data.balanceUsd}`);
