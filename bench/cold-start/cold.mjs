// Cold start: first audio of the first requests after /ready, sequential then a burst of 50 sockets.
const port = process.argv[2];
const url = `ws://127.0.0.1:${port}/ws`;
function open() {
  return new Promise((res, rej) => { const ws = new WebSocket(url); ws.binaryType = 'arraybuffer'; ws.onopen = () => res(ws); ws.onerror = rej; });
}
function speak(ws, text, format) {
  return new Promise((res) => {
    const t0 = performance.now(); let first = null;
    ws.onmessage = (m) => {
      if (typeof m.data !== 'string') { if (first === null) first = performance.now() - t0; return; }
      const j = JSON.parse(m.data);
      if (j.type === 'status' && (j.status === 'completed' || j.status === 'error' || j.status === 'cancelled')) res(first);
    };
    ws.send(JSON.stringify({ type: 'synthesize', text, format }));
  });
}
const ws = await open();
const seq = [];
for (let i = 0; i < 10; i++) seq.push((await speak(ws, 'Hello there, how can I help you today?', i % 2 ? 'ogg' : 'pcm')).toFixed(1));
const sockets = await Promise.all(Array.from({ length: 50 }, open));
const t0 = performance.now();
const burst = await Promise.all(sockets.map((s) => speak(s, 'Please hold while I look up your account details.', 'pcm')));
const wall = performance.now() - t0;
burst.sort((a, b) => a - b);
const seq2 = [];
for (let i = 0; i < 5; i++) seq2.push((await speak(ws, 'Hello there, how can I help you today?', 'pcm')).toFixed(1));
console.log(JSON.stringify({ firstTen: seq, burstP50: burst[25].toFixed(1), burstMax: burst[49].toFixed(1), burstWall: wall.toFixed(1), after: seq2 }));
process.exit(0);
