// Plain JavaScript, no build step: calls the JSON API and draws each statement's stance.
const $ = (id) => document.getElementById(id);
const colour = (label) => `var(--${["conciliatory", "defensive", "accusatory", "neutral"].includes(label) ? label : "other"})`;

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// Text with the words that drove the label highlighted; spans are offsets into this text.
function highlighted(text, words) {
  const spans = (words || []).slice().sort((a, b) => a.start - b.start);
  let out = "", at = 0;
  for (const w of spans) {
    if (w.start < at) continue;
    out += escapeHtml(text.slice(at, w.start));
    out += `<mark title="weight ${w.weight.toFixed(3)}">${escapeHtml(text.slice(w.start, w.end))}</mark>`;
    at = w.end;
  }
  return out + escapeHtml(text.slice(at));
}

function bar(scores) {
  const parts = Object.entries(scores).map(([label, p]) =>
    `<div style="width:${(100 * p).toFixed(1)}%;background:${colour(label)}" title="${label} ${(100 * p).toFixed(1)}%"></div>`);
  return `<div class="bar">${parts.join("")}</div>`;
}

function render(items) {
  $("results").innerHTML = items.map((s) => {
    if (!s.label) {
      return `<li class="statement none" data-label=""><div class="meta">not a statement</div>${escapeHtml(s.text)}</li>`;
    }
    const speaker = s.speaker ? `<span class="speaker">${escapeHtml(s.speaker)}</span> · ` : "";
    const top = (100 * s.scores[s.label]).toFixed(0);
    return `<li class="statement" data-label="${s.label}">
      <div class="meta">${speaker}<span class="label" style="color:${colour(s.label)}">${s.label}</span> ${top}%</div>
      <div class="text">${highlighted(s.text, s.explanation)}</div>${bar(s.scores)}</li>`;
  }).join("");
}

async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await r.json();
  if (!r.ok) throw new Error(Array.isArray(data.detail) ? data.detail.join("; ") : data.error || r.statusText);
  return data;
}

async function run(kind) {
  const text = $("input").value;
  $("status").className = "muted";
  $("status").textContent = "classifying…";
  try {
    let items;
    if (kind === "document") {
      const d = await post("/v1/documents", { text, explain: true, skip_non_statements: $("skip").checked });
      items = d.statements;
    } else {
      const texts = text.split("\n").map((t) => t.trim()).filter(Boolean);
      const d = await post("/v1/classify", { texts, explain: true });
      items = d.results.map((r, i) => ({ ...r, text: texts[i] }));
    }
    render(items);
    $("status").textContent = `${items.filter((s) => s.label).length} statements classified`;
  } catch (e) {
    $("status").className = "error";
    $("status").textContent = e.message;
  }
}

async function init() {
  try {
    const m = await (await fetch("/v1/model")).json();
    $("model-info").textContent = `${m.name} ${m.version}`;
    $("legend").innerHTML = m.labels.map((l) => `<span><i style="background:${colour(l)}"></i>${l}</span>`).join("");
  } catch (e) {
    $("model-info").textContent = "model not ready";
  }
}

$("analyse").addEventListener("click", () => run("document"));
$("classify").addEventListener("click", () => run("lines"));
init();
