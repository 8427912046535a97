// MitTts playground: speak over the WebSocket with playback from the first chunk (Web Audio), barge-in, live figures.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  socket: null, context: null, rate: 22050, playAt: 0, sources: new Set(),
  sentAt: 0, firstAudioAt: 0, audioSeconds: 0, taskId: null, words: [], startTime: 0,
  // serverTask: our task is queued or running at the server. dropAudio: an interrupt is on its way, so frames that arrive before
  // its acknowledgement belong to the stopped task; ackWaiters: who waits for that acknowledgement (a Speak that barges in).
  serverTask: false, dropAudio: false, ackWaiters: [],
};
// What a test (or a curious user) can read: how much audio reached the audio graph, and the figures shown.
window.mittts = { ready: false, playing: () => state.sources.size, stats: { chunks: 0, samples: 0, ttfaMs: null, rtf: null, interrupted: false, completed: false, chunksAfterInterrupt: 0 } };

function token() { return $("token").value.trim() || sessionStorage.getItem("mittts-token") || ""; }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token()) headers.Authorization = "Bearer " + token();
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { const body = await response.json(); message = (body.code || "") + ": " + (body.message || message); } catch { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function showError(error) { $("error").textContent = error ? String(error.message || error) : ""; }
function setState(text) { $("state").textContent = text; }

async function loadVoices() {
  const { voices } = await (await api("/api/v1/voices")).json();
  const select = $("voice");
  select.replaceChildren(...voices.filter((v) => v.is_available).map((v) => {
    const option = new Option(`${v.id} — ${v.name} (${v.language}, ${v.engine})`, v.id);
    option.dataset.rate = v.sample_rate;
    return option;
  }));
  window.mittts.ready = true;
}

async function refreshStatus() {
  try {
    const status = await (await api("/api/v1/status")).json();
    $("queue").textContent = String(status.tts_engine.queue_size);
    $("connections").textContent = String(status.server.connections);
    $("server-status").textContent = status.server.status;
  } catch (error) {
    $("server-status").textContent = "unavailable (" + error.message + ")";
  }
}

function openSocket() {
  if (state.socket && state.socket.readyState <= WebSocket.OPEN) return Promise.resolve(state.socket);
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (token()) url.searchParams.set("token", token());
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  socket.onmessage = (event) => (typeof event.data === "string" ? onMessage(JSON.parse(event.data)) : onAudio(event.data));
  socket.onclose = (event) => {
    state.socket = null;
    state.serverTask = false;
    acknowledged();
    if (event.code === 4401) showError("The server needs an access token (Access token, above).");
    refreshButtons();
  };
  return new Promise((resolve, reject) => {
    socket.onopen = () => { socket.send(JSON.stringify({ type: "connect" })); resolve(socket); };
    socket.onerror = () => reject(new Error("WebSocket connection failed"));
  });
}

function onMessage(message) {
  switch (message.type) {
    case "status":
      if (!state.taskId && message.status === "queued") state.taskId = message.task_id;
      if (message.task_id !== state.taskId) return;
      if (message.status === "processing") setState("speaking");
      if (message.status === "completed") finish();
      // The user's own interrupt: its acknowledgement already said so, and the task's cancelled status follows it.
      if (message.status === "cancelled" && window.mittts.stats.interrupted) return;
      if (message.status === "error" || message.status === "cancelled") {
        if (message.error) showError(message.error.code + ": " + message.error.message);
        state.serverTask = false;
        setState(message.status);
        refreshButtons();
      }
      break;
    case "timestamps":
      if (message.task_id === state.taskId) addWords(message.words);
      break;
    case "interrupted":
      if (state.dropAudio) state.serverTask = false;
      acknowledged();
      if (window.mittts.stats.interrupted) setState("interrupted");
      refreshButtons();
      break;
    case "error":
      showError(message.code + ": " + message.message);
      // A refused request never gets a task: it is not waiting in any queue.
      if (!state.taskId) { state.serverTask = false; setState("error"); }
      refreshButtons();
      break;
  }
}

function onAudio(buffer) {
  if (state.dropAudio || window.mittts.stats.interrupted) { window.mittts.stats.chunksAfterInterrupt++; return; }
  const view = new DataView(buffer);
  // The seed's frame: u32 message_type (1 = audio), u32 data_length, then the audio (big-endian header).
  if (view.getUint32(0) !== 1 || buffer.byteLength <= 8) return;
  const pcm = new Int16Array(buffer.slice(8));
  if (!state.firstAudioAt) {
    state.firstAudioAt = performance.now();
    const ttfa = state.firstAudioAt - state.sentAt;
    window.mittts.stats.ttfaMs = ttfa;
    $("ttfa").textContent = ttfa.toFixed(1) + " ms";
  }
  const audio = state.context.createBuffer(1, pcm.length, state.rate);
  const channel = audio.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
  const source = state.context.createBufferSource();
  source.buffer = audio;
  source.connect(state.context.destination);
  const at = Math.max(state.playAt, state.context.currentTime + 0.02);
  if (!state.startTime) state.startTime = at;
  source.start(at);
  state.playAt = at + audio.duration;
  state.audioSeconds += audio.duration;
  state.sources.add(source);
  source.onended = () => {
    state.sources.delete(source);
    if (state.sources.size > 0 || state.serverTask) return;
    if ($("state").textContent === "playing") setState("completed");
    refreshButtons();
  };
  window.mittts.stats.chunks++;
  window.mittts.stats.samples += pcm.length;
}

function addWords(words) {
  for (const word of words) {
    const span = document.createElement("span");
    span.textContent = word.word + " ";
    span.dataset.start = word.start_ms;
    span.dataset.end = word.end_ms;
    $("words").append(span);
    state.words.push(span);
  }
}

function highlight() {
  if (state.context && state.startTime) {
    const ms = (state.context.currentTime - state.startTime) * 1000;
    for (const span of state.words) span.classList.toggle("current", ms >= +span.dataset.start && ms < +span.dataset.end);
  }
  requestAnimationFrame(highlight);
}

function finish() {
  window.mittts.stats.completedMs = performance.now() - state.sentAt;
  const seconds = (performance.now() - state.sentAt) / 1000;
  const rtf = state.audioSeconds > 0 ? seconds / state.audioSeconds : null;
  window.mittts.stats.rtf = rtf;
  window.mittts.stats.completed = true;
  $("rtf").textContent = rtf === null ? "–" : rtf.toFixed(3) + " (" + state.audioSeconds.toFixed(2) + " s of audio)";
  state.serverTask = false;
  // The server is done long before the audio is (espeak-ng runs far faster than real time): Interrupt stays until it has played.
  setState(state.sources.size > 0 ? "playing" : "completed");
  refreshButtons();
}

// Busy while the server works on our task or its audio still plays: Interrupt (and Escape) stop either.
function busy() { return state.serverTask || state.sources.size > 0; }

function refreshButtons() { setButtons(busy()); }

function setButtons(speaking) {
  $("speak").disabled = speaking;
  $("interrupt").disabled = !speaking;
}

function acknowledged() {
  state.dropAudio = false;
  for (const resolve of state.ackWaiters.splice(0)) resolve();
}

// Stops our task at the server (if it has one) and resolves once the server acknowledged, so no frame of it is taken for the next.
function stopServerTask(reason) {
  if (!state.dropAudio && state.serverTask && state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.dropAudio = true;
    state.socket.send(JSON.stringify({ type: "interrupt", reason }));
  }
  if (!state.dropAudio) return Promise.resolve();
  return new Promise((resolve) => {
    state.ackWaiters.push(resolve);
    // An acknowledgement that never comes (the socket closes, which also resolves) must not hold the next answer back for good.
    setTimeout(acknowledged, 2000);
  });
}

async function speak(event) {
  event?.preventDefault();
  showError(null);
  const voice = $("voice").selectedOptions[0];
  if (!voice) return;
  // Speaking again (Ctrl+Enter) while the last answer runs is a barge-in: stop it here and at the server first.
  interruptPlayback();
  await stopServerTask("user_stop");
  state.rate = +voice.dataset.rate || 22050;
  state.context = state.context || new AudioContext();
  await state.context.resume();
  Object.assign(state, { playAt: 0, sentAt: 0, firstAudioAt: 0, audioSeconds: 0, taskId: null, words: [], startTime: 0 });
  Object.assign(window.mittts.stats, { chunks: 0, samples: 0, ttfaMs: null, completedMs: null, rtf: null, interrupted: false, completed: false, chunksAfterInterrupt: 0 });
  $("words").replaceChildren();
  $("ttfa").textContent = "–";
  $("rtf").textContent = "–";
  try {
    const socket = await openSocket();
    state.serverTask = true;
    refreshButtons();
    setState("queued");
    state.sentAt = performance.now();
    socket.send(JSON.stringify({
      type: "synthesize", text: $("text").value, voice_id: voice.value, format: "pcm", sample_rate: state.rate,
      priority: $("priority").value, timestamps: true, stream: true,
    }));
  } catch (error) {
    showError(error);
    state.serverTask = false;
    refreshButtons();
  }
}

function interruptPlayback() {
  for (const source of state.sources) { try { source.stop(); } catch { /* already stopped */ } }
  state.sources.clear();
  state.playAt = 0;
}

function interrupt() {
  window.mittts.stats.interrupted = true;
  interruptPlayback();
  if (state.serverTask) {
    stopServerTask("user_stop");
  } else {
    setState("interrupted");
  }
  refreshButtons();
}

async function download() {
  showError(null);
  try {
    const response = await api("/api/v1/synthesize?wait=true", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("text").value, voice_id: $("voice").value, format: $("format").value, priority: $("priority").value }),
    });
    const link = $("download-link");
    link.href = URL.createObjectURL(await response.blob());
    link.download = "mittts." + $("format").value;
    link.hidden = false;
  } catch (error) {
    showError(error);
  }
}

$("speak-form").addEventListener("submit", speak);
$("interrupt").addEventListener("click", interrupt);
$("download").addEventListener("click", download);
$("token").addEventListener("change", () => {
  sessionStorage.setItem("mittts-token", $("token").value.trim());
  if (state.socket) state.socket.close();
  loadVoices().then(() => showError(null), showError);
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) speak(event);
  if (event.key === "Escape" && !$("interrupt").disabled) interrupt();
});
$("token").value = sessionStorage.getItem("mittts-token") || "";
loadVoices().catch(showError);
refreshStatus();
setInterval(refreshStatus, 5000);
requestAnimationFrame(highlight);
