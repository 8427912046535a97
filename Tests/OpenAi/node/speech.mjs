// Drives a running MitTts gateway through the official openai npm package, as an OpenAI user would.
//   node speech.mjs <gateway base URL> <API key or "-"> <output folder> <requests JSON>
// Each request: {name, params, headers?, client?: "sdk" | "fetch"}. "sdk" (default) calls client.audio.speech.create and reads the
// body as it arrives; "fetch" posts the same JSON without any Authorization header. The audio goes to <output>/<name>.bin
// (decoded from the events for stream_format "sse"). One JSON line per request on stdout: status, headers, timings (ms from the
// request's start), the
// events seen, or the error as the SDK reports it (status, and the error body's message, type, param and code).
import OpenAI from 'openai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const [baseUrl, apiKey, outDir, requestsJson] = process.argv.slice(2);
const client = new OpenAI({ apiKey: apiKey === '-' ? 'none' : apiKey, baseURL: `${baseUrl}/v1`, maxRetries: 0, timeout: 120_000 });

async function readBody(response, sse, started) {
  const chunks = [];
  const events = [];
  let firstChunkMs = null;
  let text = '';
  for await (const chunk of response.body) {
    firstChunkMs ??= performance.now() - started;
    if (!sse) {
      chunks.push(Buffer.from(chunk));
      continue;
    }

    // Server-sent events: "data: {json}" lines, a blank line after each event.
    text += Buffer.from(chunk).toString('utf8');
    let end;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const data = block.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
      const event = JSON.parse(data);
      events.push(event.type);
      if (event.type === 'speech.audio.delta') {
        chunks.push(Buffer.from(event.audio, 'base64'));
      } else if (event.type === 'speech.audio.done') {
        events.usage = event.usage;
      }
    }
  }

  return { audio: Buffer.concat(chunks), chunks: chunks.length, firstChunkMs, totalMs: performance.now() - started, events, usage: events.usage ?? null };
}

async function run(request) {
  const sse = request.params.stream_format === 'sse';
  const started = performance.now();
  try {
    const response = request.client === 'fetch'
      ? await fetch(`${baseUrl}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request.params) })
      : await client.audio.speech.create(request.params, { headers: request.headers ?? {} });
    if (!response.ok) {
      return { name: request.name, status: response.status, error: (await response.json()).error };
    }

    const body = await readBody(response, sse, started);
    await writeFile(join(outDir, `${request.name}.bin`), body.audio);
    return {
      name: request.name,
      status: response.status,
      contentType: response.headers.get('content-type'),
      taskId: response.headers.get('x-task-id'),
      bytes: body.audio.length,
      chunks: body.chunks,
      firstChunkMs: body.firstChunkMs,
      totalMs: body.totalMs,
      events: sse ? body.events : null,
      usage: body.usage,
    };
  } catch (e) {
    if (e instanceof OpenAI.APIError) {
      return { name: request.name, status: e.status, errorClass: e.constructor.name, error: e.error ?? null, code: e.code ?? null, type: e.type ?? null, param: e.param ?? null };
    }

    return { name: request.name, status: null, thrown: String(e?.stack ?? e) };
  }
}

for (const request of JSON.parse(requestsJson)) {
  process.stdout.write(JSON.stringify(await run(request)) + '\n');
}
