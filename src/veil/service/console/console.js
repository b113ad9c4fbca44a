// Veil console: plain JS over the same API the CLI and curl use; the key stays in this tab's sessionStorage.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("veil-key") || "", current: null, originals: new Map(), shown: null };

function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.key}` }, options.headers || {});
  return fetch(path, Object.assign({}, options, { headers }));
}

async function detail(response) {
  try { return (await response.json()).detail || response.statusText; } catch { return response.statusText; }
}

function mediaElement(url, kind) {
  const element = document.createElement(kind === "video" ? "video" : "img");
  element.src = url;
  if (kind === "video") { element.controls = true; element.muted = true; element.loop = true; }
  return element;
}

async function useKey(event) {
  event.preventDefault();
  state.key = $("api-key").value.trim();
  const response = await api("/v1/jobs?limit=20");
  $("key-status").textContent = response.ok ? "key accepted" : `refused: ${await detail(response)}`;
  if (response.ok) { sessionStorage.setItem("veil-key", state.key); renderJobs((await response.json()).jobs); }
}

async function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  form.append("operation", $("operation").value);
  form.append("method", $("method").value);
  form.append("targets", $("targets").value);
  $("upload-status").textContent = `uploading ${file.name}…`;
  const response = await api("/v1/jobs", { method: "POST", body: form });
  if (!response.ok) { $("upload-status").textContent = `refused: ${await detail(response)}`; return; }
  const job = await response.json();
  state.originals.set(job.id, { url: URL.createObjectURL(file), kind: job.media_kind });
  $("upload-status").textContent = `queued as ${job.id}`;
  select(job.id);
}

function renderJobs(jobs) {
  const rows = $("job-rows");
  rows.replaceChildren(...jobs.map((job) => {
    const row = document.createElement("tr");
    row.dataset.id = job.id;
    for (const text of [job.id.slice(0, 8), job.input_name, job.operation, job.state, `${Math.round(job.progress * 100)} %`]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    row.addEventListener("click", () => select(job.id));
    return row;
  }));
}

function select(id) {
  state.current = id;
  state.shown = null;
  $("job").hidden = false;
  $("job-id").textContent = id;
  $("before").replaceChildren();
  $("after").replaceChildren();
  $("download").hidden = true;
  $("detections").tBodies[0].replaceChildren();
  const original = state.originals.get(id);
  if (original) $("before").append(mediaElement(original.url, original.kind));
  else $("before").textContent = "the original stays on the uploading device only";
  refresh();
}

async function refresh() {
  if (!state.key) return;
  const list = await api("/v1/jobs?limit=20");
  if (list.ok) renderJobs((await list.json()).jobs);
  if (!state.current) return;
  const response = await api(`/v1/jobs/${state.current}`);
  if (!response.ok) { $("job-detail").textContent = await detail(response); return; }
  const job = await response.json();
  $("job-state").textContent = job.state;
  $("job-state").className = `state ${job.state}`;
  $("job-progress").value = job.progress;
  const frames = job.frames_total ? `${job.frames_done} / ${job.frames_total} frames` : `${job.frames_done} frames`;
  $("job-detail").textContent = job.error ? `${frames} — ${job.error}` : `${frames}, attempt ${job.attempts}`;
  if (job.state === "succeeded" && state.shown !== job.id) {
    state.shown = job.id;
    await showResult(job);
  }
}

async function showResult(job) {
  const result = await api(`/v1/jobs/${job.id}/result`);
  if (!result.ok) { $("after").textContent = await detail(result); return; }
  const url = URL.createObjectURL(await result.blob());
  const isJson = (job.result_name || "").endsWith(".json");
  if (isJson) { $("after").textContent = "report ready"; } else { $("after").replaceChildren(mediaElement(url, job.media_kind)); }
  const link = $("download");
  link.href = url;
  link.download = job.result_name || "result";
  link.hidden = false;
  if (job.has_detections) await showDetections(job.id);
}

async function showDetections(id) {
  const response = await api(`/v1/jobs/${id}/detections`);
  if (!response.ok) return;
  const totals = new Map();
  for (const frame of (await response.json()).frames) {
    const seen = new Set();
    for (const region of frame.regions) {
      const entry = totals.get(region.class) || { regions: 0, frames: 0, score: 0 };
      entry.regions += 1;
      entry.score += region.score;
      if (!seen.has(region.class)) { entry.frames += 1; seen.add(region.class); }
      totals.set(region.class, entry);
    }
  }
  $("detections").tBodies[0].replaceChildren(...[...totals].map(([name, t]) => {
    const row = document.createElement("tr");
    for (const text of [name, t.regions, t.frames, (t.score / t.regions).toFixed(2)]) {
      const cell = document.createElement("td");
      cell.textContent = String(text);
      row.append(cell);
    }
    return row;
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", useKey);
  $("upload-form").addEventListener("submit", upload);
  if (state.key) $("api-key").value = state.key;
  setInterval(refresh, 500);
});
