// Runs the Hugging Face Hub's own JavaScript client, @huggingface/hub
// (pinned in package.json), against a fake Hub and checks each answer
// against what the real Hub does (shared/hub-api.md and the recordings),
// row by row as in issue 14's table. Prints the table; exits 1 if a row
// differs, 2 if it cannot run.
//
//   HUB_URL=http://127.0.0.1:8088 CONFORMANCE='{…}' node conformance.mjs
//
// CONFORMANCE (JSON) names the models to ask about, set up by the caller
// (cmd/hubsim's conformance_test.go): plain, otherCase (of plain), renamed
// {old,id}, gated, private, missing, child {id,parent,relation}, family
// {parent, children, adapters} (the expected counts), pageCap, and
// optionally tree {id, gated, lastModified} when the world is a recorded
// tree.
import { listModels, modelInfo } from "@huggingface/hub";

const hubUrl = process.env.HUB_URL;
const cfg = JSON.parse(process.env.CONFORMANCE ?? "{}");
if (!hubUrl) {
	console.error("conformance: HUB_URL is not set");
	process.exit(2);
}

// Every request the client makes, with its status and whether it was
// redirected (fetch follows the Hub's 307s itself).
const seen = [];
const recording = async (url, init) => {
	const res = await fetch(url, init);
	seen.push({ url: String(url), status: res.status, redirected: res.redirected });
	return res;
};

const rows = [];
async function row(call, real, fn) {
	let got, ok;
	try {
		[ok, got] = await fn();
	} catch (e) {
		ok = false;
		got = `threw ${e?.statusCode ?? ""} ${String(e?.message ?? e).split(". URL:")[0]}`;
	}
	rows.push({ call, real, got: String(got), ok });
}

async function status(name) {
	try {
		const m = await modelInfo({ name, hubUrl, fetch: recording });
		return { status: 200, m };
	} catch (e) {
		if (e?.statusCode) return { status: e.statusCode, err: e };
		throw e;
	}
}

async function get(path, headers = {}) {
	const res = await fetch(hubUrl + path, { headers, redirect: "manual" });
	const text = await res.text();
	let body;
	try {
		body = JSON.parse(text);
	} catch {
		body = text;
	}
	return { res, body };
}

async function collect(params) {
	const before = seen.length;
	const out = [];
	for await (const m of listModels({ hubUrl, fetch: recording, ...params })) out.push(m);
	return { models: out, requests: seen.length - before };
}

const keysOf = (o) => Object.keys(o).sort().join(",");
const has = (o, ks) => ks.filter((k) => !(k in o));

// listModels with base_model: filters and paging.
await row(
	"listModels `base_model:` filter, paging",
	"every child, Link pagination",
	async () => {
		const all = await collect({ search: { tags: [`base_model:${cfg.family.parent}`] } });
		const ad = await collect({ search: { tags: [`base_model:adapter:${cfg.family.parent}`] } });
		const ok =
			all.models.length === cfg.family.children &&
			ad.models.length === cfg.family.adapters &&
			all.requests === Math.max(1, Math.ceil(cfg.family.children / cfg.pageCap));
		return [ok, `${all.models.length} children in ${all.requests} pages, ${ad.models.length} adapters in ${ad.requests}`];
	},
);

await row("listModels additionalFields", "the fields, on every model", async () => {
	const fields = ["cardData", "config", "createdAt", "downloadsAllTime", "filePaths", "library_name", "model-index",
		"safetensors", "sha", "spaces", "tags", "author", "inferenceProviderMapping", "trendingScore"];
	const { models } = await collect({ search: { tags: [`base_model:${cfg.family.parent}`] }, additionalFields: fields, limit: 20 });
	const missing = new Set();
	for (const m of models) {
		for (const f of fields) {
			// A GGUF repo has no safetensors, as on the Hub.
			if (m[f] === undefined && !(f === "safetensors" && m.library_name === "gguf")) missing.add(f);
		}
		if (!Array.isArray(m.filePaths) || !Array.isArray(m.inferenceProviderMapping)) missing.add("shape");
	}
	return [models.length === 20 && missing.size === 0, missing.size ? `missing ${[...missing]}` : `${models.length} models, all fields`];
});

// modelInfo on each kind of repo.
await row("modelInfo plain", "200", async () => {
	const r = await status(cfg.plain);
	return [r.status === 200 && r.m.name === cfg.plain, r.status === 200 ? `200 ${r.m.name}` : r.status];
});
await row("modelInfo other case", "200, canonical id", async () => {
	const r = await status(cfg.otherCase);
	return [r.status === 200 && r.m.name === cfg.plain, r.status === 200 ? `200 ${r.m.name}` : r.status];
});
await row("modelInfo renamed", "307 → 200, new id", async () => {
	const before = seen.length;
	const r = await status(cfg.renamed.old);
	const redirected = seen.slice(before).some((s) => s.redirected);
	return [r.status === 200 && redirected && r.m.name === cfg.renamed.id, r.status === 200 ? `${redirected ? "307 → " : ""}200 ${r.m.name}` : r.status];
});
await row("modelInfo gated", '200, gated "manual"', async () => {
	const r = await status(cfg.gated);
	return [r.status === 200 && r.m.gated === "manual", r.status === 200 ? `200 gated ${JSON.stringify(r.m.gated)}` : r.status];
});
await row("modelInfo private", "401", async () => {
	const r = await status(cfg.private);
	return [r.status === 401, r.status];
});
await row("modelInfo missing", "401, X-Request-Id", async () => {
	const r = await status(cfg.missing);
	return [r.status === 401 && !!r.err?.requestId, `${r.status}${r.err?.requestId ? ", X-Request-Id" : ""}`];
});

// expand on the single-model endpoint.
await row("`expand[]=baseModels` (single model)", "the parents, with relation", async () => {
	const m = await modelInfo({ name: cfg.child.id, hubUrl, additionalFields: ["baseModels"] });
	const b = m.baseModels;
	return [b?.relation === cfg.child.relation && b?.models?.some((p) => p.id === cfg.child.parent), JSON.stringify(b)];
});
await row("`expand[]=cardData, config, siblings, trendingScore, downloadsAllTime`", "the fields", async () => {
	const fields = ["cardData", "config", "filePaths", "trendingScore", "downloadsAllTime"];
	const m = await modelInfo({ name: cfg.child.id, hubUrl, additionalFields: fields });
	const miss = fields.filter((f) => m[f] === undefined);
	const card = m.cardData?.base_model === cfg.child.parent;
	return [miss.length === 0 && card, miss.length ? `missing ${miss}` : `fields; cardData.base_model ${m.cardData?.base_model}`];
});
await row("`expand[]=safetensors, spaces, transformersInfo, model-index, inferenceProviderMapping`", "200", async () => {
	const fields = ["safetensors", "spaces", "transformersInfo", "model-index", "inferenceProviderMapping"];
	const m = await modelInfo({ name: cfg.plain, hubUrl, additionalFields: fields });
	const miss = fields.filter((f) => !(f in m));
	return [miss.length === 0 && Array.isArray(m.inferenceProviderMapping) && m.safetensors?.total > 0, miss.length ? `missing ${miss}` : "200, fields"];
});

// sort.
await row("`sort=downloads`, `likes`, `trendingScore`", "valid, descending", async () => {
	const got = [];
	let ok = true;
	for (const [sort, key] of [["downloads", "downloads"], ["likes", "likes"], ["trendingScore", null]]) {
		const { models } = await collect({ sort, limit: 50, additionalFields: ["trendingScore"] });
		const k = key ?? "trendingScore";
		const desc = models.every((m, i) => i === 0 || models[i - 1][k] >= m[k]);
		ok &&= models.length === 50 && desc;
		got.push(`${sort} ${desc ? "desc" : "UNORDERED"}`);
	}
	const lm = await collect({ sort: "lastModified", limit: 50 });
	const desc = lm.models.every((m, i) => i === 0 || lm.models[i - 1].updatedAt >= m.updatedAt);
	ok &&= desc;
	got.push(`lastModified ${desc ? "desc" : "UNORDERED"}`);
	return [ok, got.join(", ")];
});

// full, cardData, config.
await row("`full=true`, `cardData=true`, `config=true`", "change the body; 400 with `expand`", async () => {
	const base = `/api/models?filter=${encodeURIComponent(`base_model:${cfg.family.parent}`)}&limit=3`;
	const plain = await get(base);
	const full = await get(base + "&full=true");
	const card = await get(base + "&cardData=true");
	const conf = await get(base + "&config=true");
	const bad = await Promise.all(["full", "cardData", "config"].map((p) => get(base + `&${p}=true&expand[]=tags`)));
	const ok =
		plain.res.status === 200 &&
		!("siblings" in plain.body[0]) &&
		"siblings" in full.body[0] && "sha" in full.body[0] &&
		"cardData" in card.body[0] && "config" in conf.body[0] &&
		bad.every((b) => b.res.status === 400);
	return [ok, `full: ${has(full.body[0], ["siblings", "sha", "lastModified"]).length ? "no" : "siblings, sha, lastModified"}; ` +
		`cardData ${"cardData" in card.body[0]}; config ${"config" in conf.body[0]}; with expand ${bad.map((b) => b.res.status)}`];
});

await row("single-model default body", "cardData, config, siblings, spaces, safetensors, … (recording)", async () => {
	const { res, body } = await get(`/api/models/${cfg.plain}`);
	const want = ["_id", "id", "modelId", "author", "sha", "private", "gated", "disabled", "downloads", "likes",
		"lastModified", "createdAt", "library_name", "pipeline_tag", "tags", "cardData", "config", "transformersInfo",
		"siblings", "spaces", "safetensors", "usedStorage", "model-index"];
	// As on the Hub, a repo without transformers weights has no
	// transformersInfo, a GGUF repo no safetensors.
	const miss = has(body, want).filter((k) =>
		!(k === "transformersInfo" && body.library_name !== "transformers") && !(k === "safetensors" && body.library_name === "gguf"));
	return [res.status === 200 && miss.length === 0 && !("baseModels" in body), miss.length ? `missing ${miss}` : keysOf(body)];
});

if (cfg.tree) {
	await row("`--tree` worlds", "recorded `gated`, `lastModified`", async () => {
		const m = await modelInfo({ name: cfg.tree.id, hubUrl });
		const lm = m.updatedAt.toISOString();
		return [m.gated === cfg.tree.gated && lm === cfg.tree.lastModified, `gated ${JSON.stringify(m.gated)}, lastModified ${lm}`];
	});
}

await row("`skip`, `X-Request-Id`, Link scheme", "offset; on every answer; the client's scheme", async () => {
	const two = await get("/api/models?limit=2");
	const skipped = await get("/api/models?limit=1&skip=1");
	const https = await get("/api/models?limit=1", { "X-Forwarded-Proto": "https" });
	const plain = await get("/api/models?limit=1");
	const missing = await get(`/api/models/${cfg.missing}`);
	const skipOK = skipped.body[0]?.id === two.body[1]?.id;
	const ids = [two, missing].every((r) => /^Root=1-/.test(r.res.headers.get("X-Request-Id") ?? ""));
	const schemes = [https, plain].map((r) => (r.res.headers.get("Link") ?? "").slice(1, 6));
	const ok = skipOK && ids && schemes[0] === "https" && schemes[1] === "http:";
	return [ok, `skip ${skipOK ? "offsets" : "IGNORED"}; X-Request-Id ${ids ? "present" : "ABSENT"}; Link ${schemes.join(" / ")}`];
});

// The table.
const esc = (s) => s.replaceAll("|", "\\|");
console.log("| call | real Hub | fake Hub, through @huggingface/hub | |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(`| ${esc(r.call)} | ${esc(r.real)} | ${esc(r.got)} | ${r.ok ? "ok" : "DIFFERS"} |`);
const failed = rows.filter((r) => !r.ok).length;
console.log(`\nconformance: ${rows.length - failed} rows as the real Hub, ${failed} differ`);
process.exit(failed ? 1 : 0);
