/**
 * The intake page: choose pictures, hash them on this device (in workers),
 * send only the hashes, show the case id and secret, check status,
 * withdraw. Spanish and English (src/i18n/web.ts). No cookies, no
 * analytics, nothing stored unless the person asks; a quick exit on every
 * screen. See docs/intake-page.md.
 */
import { web } from "../i18n/web.ts";
import { sniffFormat } from "../image/sniff.ts";
import type { CaseStatusResponse, CreateCaseRequest, CreateCaseResponse } from "../protocol/index.ts";
import {
  ApiError,
  BrowserClient,
  BrowserHashError,
  type BrowserHashResult,
  cases,
  deliverOutbox,
  forgetEverything,
  Hasher,
  hasLocalData,
  isTransient,
  newIdempotencyKey,
  outbox,
  type RememberedCase,
} from "../browser/index.ts";
import { checkConfig, DEFAULT_CONFIG, type Lang, local, type PageConfig, pickLang } from "./config.ts";

// ---------------------------------------------------------------- words

type Key = keyof (typeof web)["en"];
type Params = Record<string, string | number>;

const plurals = new Map<string, Intl.PluralRules>();
/** One Intl.PluralRules per language (making one is slow, and the list asks often). */
function pluralRules(l: string): Intl.PluralRules {
  let r = plurals.get(l);
  if (!r) plurals.set(l, (r = new Intl.PluralRules(l)));
  return r;
}

function t(key: Key, params: Params = {}): string {
  const entry = (web[lang] as Record<string, unknown>)[key] ?? (web.en as Record<string, unknown>)[key];
  let s: string;
  if (typeof entry === "string") s = entry;
  else if (entry && typeof entry === "object") {
    const forms = entry as { one: string; other: string };
    const n = Number(params.count ?? 0);
    s = pluralRules(lang).select(n) === "one" ? forms.one : forms.other;
  } else s = key;
  return s.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

// ---------------------------------------------------------------- DOM helper

type Child = Node | string | null | undefined | false;
function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v as EventListener);
    else if (k === "class") e.className = String(v);
    else if (k === "text") e.textContent = String(v);
    else if (k in e && typeof v !== "string") (e as unknown as Record<string, unknown>)[k] = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

function button(text: string, onclick: () => void, cls = "", extra: Record<string, unknown> = {}): HTMLButtonElement {
  return el("button", { type: "button", class: cls, onclick, ...extra }, text);
}

// ---------------------------------------------------------------- state

type Screen = "intro" | "choose" | "confirm" | "pending" | "done" | "status";

interface Item {
  id: number;
  file: File;
  /** The picture as a blob: URL, made when first needed (making 200 at once is slow): see {@link thumbUrl}. */
  thumb?: string;
  state: "waiting" | "working" | "done" | "error";
  result?: BrowserHashResult;
  error?: { key: Key; params?: Params };
  duplicate?: boolean;
  /** Taken out of the list (a result that comes back later is dropped). */
  removed?: boolean;
  /** The item's list entry: made once, then updated in place (its thumbnail is kept). */
  node?: HTMLLIElement;
  /** What `node` shows now (state, duplicate, number, language): it is only touched when this changes. */
  shown?: string;
}

let config: PageConfig = DEFAULT_CONFIG;
let lang: Lang = "es";
let client: BrowserClient | null = null;
let hasher: Hasher | null = null;
let screen: Screen = "intro";
let items: Item[] = [];
let nextItem = 1;
let remember = false;
let sending = false;
let sendNote = "";
let confirmError = "";
let pending: { key: string; body: CreateCaseRequest; saved: boolean; note: string } | null = null;
let created: { response: CreateCaseResponse; remembered: boolean } | null = null;
let status: { caseId: string; secret: string; view?: CaseStatusResponse; error?: string; note?: string; busy?: boolean } = { caseId: "", secret: "" };
let remembered: RememberedCase[] = [];
let savedOutbox = 0;
let deliveryTimer: ReturnType<typeof setTimeout> | null = null;
/** Hash value -> thumbnail made on this device this session (blob: URL). Never sent. */
const sessionThumbs = new Map<string, string>();

const $ = (id: string) => document.getElementById(id)!;

function orgName(): string {
  return local(config.org.name, lang);
}

function announce(text: string): void {
  const a = $("announce");
  a.textContent = "";
  setTimeout(() => (a.textContent = text), 30);
}

// ---------------------------------------------------------------- quick exit

function quickExit(): void {
  // Replace this page (no new history entry) and drop what is in memory.
  for (const it of items) if (it.thumb) URL.revokeObjectURL(it.thumb);
  items = [];
  hashQueue.length = 0;
  thumbQueue.length = 0;
  document.body.replaceChildren();
  location.replace(config.quickExitUrl);
}

// ---------------------------------------------------------------- chrome

function renderTop(): void {
  const top = $("top");
  const other = config.languages.find((l) => l !== lang);
  top.replaceChildren(
    el(
      "div",
      { class: "brand" },
      config.org.logo ? el("img", { src: config.org.logo, alt: "", class: "logo", width: 40, height: 40 }) : null,
      el("span", { class: "org" }, orgName()),
    ),
    el(
      "div",
      { class: "tools" },
      other
        ? // Each dictionary names the other language in that language ("Español" in en), hence web[lang].
          button(web[lang]["web.lang.switch"], () => setLang(other), "lang", {
            lang: other,
            id: "lang-switch",
            "aria-label": `${web[lang]["web.lang.switch"]} (${web[lang]["web.lang.switchHint"]})`,
          })
        : null,
      button(t("web.exit"), quickExit, "exit", { id: "quick-exit", title: t("web.exit.hint"), "aria-describedby": "exit-hint" }),
      el("span", { id: "exit-hint", class: "sr-only" }, t("web.exit.hint")),
    ),
  );
}

function renderBottom(): void {
  const parts: Node[] = [];
  const helpline = local(config.support.helpline, lang);
  const contact = local(config.support.contact, lang);
  if (helpline || contact || config.support.url) {
    parts.push(el("p", { class: "help-title" }, t("web.footer.help")));
    if (helpline) parts.push(el("p", {}, t("web.footer.helpline", { helpline })));
    if (contact) parts.push(el("p", {}, t("web.footer.contact", { contact })));
    if (config.support.url) parts.push(el("p", {}, el("a", { href: config.support.url, rel: "noreferrer" }, config.support.url)));
  }
  parts.push(el("p", { class: "privacy" }, t("web.footer.privacy")));
  parts.push(el("p", {}, t("web.by", { org: orgName() })));
  $("bottom").replaceChildren(...parts);
}

function setLang(l: Lang): void {
  lang = l;
  document.documentElement.lang = l;
  document.title = `${t("web.title")} · ${orgName()}`;
  $("skip").textContent = t("web.skip");
  renderTop();
  renderBottom();
  render(false);
  ($("lang-switch") as HTMLElement | null)?.focus();
}

// ---------------------------------------------------------------- screens

function go(s: Screen): void {
  screen = s;
  render(true);
  // The workers start (and compile their WebAssembly) while the person chooses, not when the pictures arrive.
  if (s === "choose" && !hasher) setTimeout(getHasher, 0);
}

function render(moveFocus: boolean): void {
  const main = $("main");
  let content: Child[];
  switch (screen) {
    case "intro": content = introScreen(); break;
    case "choose": content = chooseScreen(); break;
    case "confirm": content = confirmScreen(); break;
    case "pending": content = pendingScreen(); break;
    case "done": content = doneScreen(); break;
    case "status": content = statusScreen(); break;
  }
  main.replaceChildren(...content.filter(Boolean) as Node[]);
  main.dataset.screen = screen;
  if (moveFocus) {
    const h = main.querySelector("h1");
    if (h) {
      h.setAttribute("tabindex", "-1");
      h.focus();
    }
    window.scrollTo(0, 0);
  }
}

function introScreen(): Child[] {
  return [
    el("h1", {}, t("web.intro.heading")),
    el("p", { class: "lead" }, t("web.intro.lead")),
    savedOutbox > 0
      ? el("div", { class: "notice" }, el("p", {}, t("web.pending.found", { count: savedOutbox })), button(t("web.pending.retry"), () => void resumeOutbox(), "secondary"))
      : null,
    el("h2", {}, t("web.intro.how.heading")),
    el("ol", { class: "steps" }, el("li", {}, t("web.intro.how.1")), el("li", {}, t("web.intro.how.2")), el("li", {}, t("web.intro.how.3"))),
    el("p", { class: "explain" }, t("web.intro.fingerprint")),
    el("h2", {}, t("web.intro.not.heading")),
    el("ul", {}, el("li", {}, t("web.intro.not.1")), el("li", {}, t("web.intro.not.2")), el("li", {}, t("web.intro.not.3"))),
    el(
      "p",
      { class: "adults" },
      t("web.intro.adults"),
      config.under18Url ? " " : null,
      config.under18Url ? el("a", { href: config.under18Url, rel: "noreferrer", id: "under18" }, t("web.intro.under18")) : null,
    ),
    el(
      "div",
      { class: "actions" },
      button(t("web.intro.start"), () => go("choose"), "primary", { id: "start" }),
      button(t("web.intro.status"), () => void openStatus(), "secondary", { id: "open-status" }),
    ),
  ];
}

function readyItems(): Item[] {
  return items.filter((i) => i.state === "done" && !i.duplicate);
}

function submissionBody(): CreateCaseRequest | null {
  const ready = readyItems();
  if (!client || ready.length === 0) return null;
  return client.createCaseBody(ready.map((i) => ({ type: "pdq", value: i.result!.hash })));
}

function chooseScreen(): Child[] {
  const input = el("input", { type: "file", accept: "image/*", multiple: true, id: "file-input", class: "sr-only", tabindex: -1, "aria-hidden": "true" });
  input.addEventListener("change", () => {
    if (input.files) addFiles([...input.files]);
    input.value = "";
  });
  const pick = button(items.length ? t("web.choose.more") : t("web.choose.button"), () => input.click(), "primary", { id: "choose-files", "aria-describedby": "formats" });
  const drop = el(
    "div",
    { class: "drop", id: "drop" },
    pick,
    el("p", { class: "drop-hint", "aria-hidden": "true" }, t("web.choose.drop")),
    el("p", { class: "hint", id: "formats" }, t("web.choose.formats")),
    input,
  );
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer?.files) addFiles([...e.dataTransfer.files]);
  });
  const body = submissionBody();
  return [
    el("h1", {}, t("web.choose.heading")),
    el("p", { class: "lead" }, t("web.choose.lead")),
    drop,
    el("h2", { id: "list-title" }, t("web.choose.list")),
    el("p", { id: "progress", class: "progress-text" }, progressText()),
    items.length === 0 ? el("p", { class: "hint" }, t("web.choose.none")) : el("ul", { class: "items", id: "items", "aria-labelledby": "list-title" }, ...items.map((it, i) => itemView(it, i + 1))),
    el(
      "details",
      { class: "sent", id: "what-is-sent" },
      el("summary", {}, t("web.sent.summary")),
      el("p", {}, t("web.sent.explain")),
      el("pre", { id: "sent-json", tabindex: 0, "aria-label": t("web.sent.heading") }, sentText(body)),
    ),
    el(
      "div",
      { class: "check" },
      el("input", { type: "checkbox", id: "remember", checked: remember, "aria-describedby": "remember-hint", onchange: (e: Event) => (remember = (e.target as HTMLInputElement).checked) }),
      el("label", { for: "remember" }, t("web.remember.label")),
      el("p", { class: "hint", id: "remember-hint" }, t("web.remember.hint")),
    ),
    el("p", { id: "choose-error", class: "error", role: "alert" }, confirmError),
    el(
      "div",
      { class: "actions" },
      button(t("web.choose.continue"), () => {
        if (readyItems().length === 0) {
          confirmError = t("web.choose.needOne");
          render(false);
          ($("choose-error") as HTMLElement).focus?.();
          return;
        }
        confirmError = "";
        go("confirm");
      }, "primary", { id: "continue" }),
      button(t("web.choose.back"), () => go("intro"), "secondary"),
    ),
  ];
}

function progressText(): string {
  const done = items.filter((i) => i.state === "done" || i.state === "error").length;
  return items.length ? t("web.choose.progress", { done: items.filter((i) => i.state === "done").length, count: items.length }) + (done < items.length ? "…" : "") : "";
}

function sentText(body: CreateCaseRequest | null): string {
  return body ? JSON.stringify(body, null, 2) : "{}";
}

function itemState(it: Item): Child {
  if (it.state === "error") return el("p", { class: "error" }, t(it.error!.key, it.error!.params));
  if (it.state === "done") {
    return el(
      "div",
      {},
      el("p", { class: "ok" }, t("web.item.done")),
      it.duplicate ? el("p", { class: "hint" }, t("web.item.duplicate")) : null,
      it.result!.quality < 50 ? el("p", { class: "warn" }, t("web.item.weak")) : null,
      it.result!.transparent ? el("p", { class: "warn" }, t("web.item.transparent")) : null,
    );
  }
  const words = t(it.state === "working" ? "web.item.working" : "web.item.waiting");
  return el(
    "div",
    {},
    el("progress", { "aria-label": words, ...(it.state === "waiting" ? { max: 1, value: 0 } : {}) }),
    el("p", { class: "hint" }, words),
  );
}

/**
 * The list entry of an item (`number` counts from 1): made once, then
 * updated in place when what it shows changes, so its thumbnail, and the
 * focus on its button, stay.
 */
function itemView(it: Item, number: number): HTMLLIElement {
  let li = it.node;
  if (!li) {
    const img = el("img", { class: "thumb", decoding: "async", width: 96, height: 96 });
    li = el("li", {}, img, el("div", { class: "item-body" }), button("×", () => removeItem(it), "remove"));
    it.node = li;
    watchThumb(it, img);
  }
  const shown = `${it.state}|${it.duplicate ? 1 : 0}|${number}|${lang}`;
  if (it.shown === shown) return li;
  it.shown = shown;
  li.className = `item ${it.state}`;
  li.id = `item-${it.id}`;
  li.setAttribute("data-state", it.state);
  li.setAttribute("data-code", it.error?.key ?? "");
  (li.querySelector("img") as HTMLImageElement).alt = t("web.choose.thumb", { number });
  (li.querySelector(".item-body") as HTMLElement).replaceChildren(itemState(it) as Node);
  const remove = li.querySelector("button.remove") as HTMLButtonElement;
  remove.setAttribute("aria-label", t("web.choose.remove", { number }));
  remove.title = t("web.choose.remove", { number });
  return li;
}

// Thumbnails: each is loaded only when its entry comes near the screen, and
// a few at a time, so choosing many pictures does not decode them all at once.
const THUMBS_AT_ONCE = 3;
const thumbQueue: Item[] = [];
const thumbOf = new WeakMap<Element, Item>();
let thumbsLoading = 0;
let thumbWatch: IntersectionObserver | null = null;

function watchThumb(it: Item, img: HTMLImageElement): void {
  if (typeof IntersectionObserver === "undefined") {
    thumbQueue.push(it);
    return pumpThumbs();
  }
  thumbWatch ??= new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      thumbWatch!.unobserve(e.target);
      const item = thumbOf.get(e.target);
      if (item) thumbQueue.push(item);
    }
    pumpThumbs();
  }, { rootMargin: "600px 0px" });
  thumbOf.set(img, it);
  thumbWatch.observe(img);
}

/** The item's picture as a blob: URL (local to this page, never on the network), made once. */
function thumbUrl(it: Item): string {
  it.thumb ??= URL.createObjectURL(it.file);
  return it.thumb;
}

function pumpThumbs(): void {
  while (thumbsLoading < THUMBS_AT_ONCE && thumbQueue.length > 0) {
    const it = thumbQueue.shift()!;
    const img = it.node?.querySelector("img");
    if (it.removed || !img || img.getAttribute("src")) continue;
    thumbsLoading++;
    const settled = () => {
      thumbsLoading--;
      pumpThumbs();
    };
    img.addEventListener("load", settled, { once: true });
    img.addEventListener("error", () => {
      // Not a picture the browser can show (a PDF, a video, a damaged file): the plain grey box, not a broken image.
      img.removeAttribute("src");
      settled();
    }, { once: true });
    img.src = thumbUrl(it);
  }
}

function removeItem(it: Item): void {
  items = items.filter((x) => x !== it);
  it.removed = true;
  const img = it.node?.querySelector("img");
  if (img) thumbWatch?.unobserve(img);
  if (it.result && !items.some((x) => x.result?.hash === it.result!.hash)) sessionThumbs.delete(it.result.hash);
  if (it.thumb) URL.revokeObjectURL(it.thumb);
  markDuplicates();
  render(false);
  ($("choose-files") as HTMLElement).focus();
}

function markDuplicates(): void {
  const seen = new Set<string>();
  for (const it of items) {
    if (it.state !== "done") continue;
    it.duplicate = seen.has(it.result!.hash);
    seen.add(it.result!.hash);
  }
}

// The list is redrawn at most once an animation frame, however many
// pictures changed state in it (a hidden tab gets no frames: a timer then).
let refreshQueued = false;

function scheduleRefresh(): void {
  if (refreshQueued) return;
  refreshQueued = true;
  requestAnimationFrame(flushRefresh);
  setTimeout(flushRefresh, 250);
}

function flushRefresh(): void {
  if (!refreshQueued) return;
  refreshQueued = false;
  refreshItems();
}

/** Bring the choose screen's list, progress and "what is sent" up to date, touching only what changed. */
function refreshItems(): void {
  if (screen !== "choose") return;
  const list = document.getElementById("items");
  if (!list) return render(false);
  items.forEach((it, i) => {
    const li = itemView(it, i + 1);
    if (li.parentNode !== list) list.append(li);
  });
  const progress = progressText();
  if ($("progress").textContent !== progress) $("progress").textContent = progress;
  const sent = sentText(submissionBody());
  if ($("sent-json").textContent !== sent) $("sent-json").textContent = sent;
  if ($("choose-error").textContent !== confirmError) $("choose-error").textContent = confirmError;
}

const VIDEO_BRANDS = ["isom", "iso2", "mp41", "mp42", "avc1", "qt  ", "M4V ", "3gp4", "3gp5", "3g2a", "dash", "MSNV"];

/** Why a file that is not a picture is not one, in the words the page has. */
function nonImageKey(head: Uint8Array, file: File): Key {
  const a = (at: number, n: number) => String.fromCharCode(...head.subarray(at, at + n));
  if (head.length === 0) return "web.error.EMPTY_FILE";
  if (a(0, 5) === "%PDF-") return "web.error.PDF";
  if ((a(4, 4) === "ftyp" && VIDEO_BRANDS.includes(a(8, 4))) || (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) || file.type.startsWith("video/")) {
    return "web.error.VIDEO";
  }
  let printable = 0;
  for (const c of head) if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 128) printable++;
  if (printable / head.length > 0.95) return "web.error.TEXT";
  return "web.error.NOT_AN_IMAGE";
}

function errorOf(err: unknown, head: Uint8Array, file: File): { key: Key; params?: Params } {
  const code = err instanceof BrowserHashError ? err.code : "OTHER";
  const size = /(\d+)x(\d+)/.exec(err instanceof Error ? err.message : "");
  const params = size ? { width: size[1], height: size[2] } : undefined;
  switch (code) {
    case "EMPTY_FILE": return { key: "web.error.EMPTY_FILE" };
    case "NOT_AN_IMAGE": return { key: nonImageKey(head, file) };
    case "UNSUPPORTED_FORMAT": return { key: sniffFormat(head) === "heif" ? "web.error.HEIC" : "web.error.UNSUPPORTED_FORMAT" };
    case "TRUNCATED": return { key: "web.error.TRUNCATED" };
    case "CORRUPT": return { key: "web.error.CORRUPT" };
    case "TOO_LARGE": return params ? { key: "web.error.TOO_LARGE", params } : { key: "web.error.TOO_LARGE_UNKNOWN" };
    case "TOO_SMALL": return params ? { key: "web.error.TOO_SMALL", params } : { key: "web.error.OTHER" };
    case "FLAT": return { key: "web.error.FLAT" };
    default: return { key: "web.error.OTHER" };
  }
}

/** Pictures waiting for a worker, in the order chosen; {@link pumpHashes} hands them out. */
const hashQueue: Item[] = [];
let hashing = 0;

function getHasher(): Hasher {
  hasher ??= new Hasher({ workerUrl: new URL("worker.js", location.href) });
  return hasher;
}

function addFiles(files: File[]): void {
  if (files.length === 0) return;
  const fresh: Item[] = [];
  for (const file of files) fresh.push({ id: nextItem++, file, state: "waiting" });
  items.push(...fresh);
  hashQueue.push(...fresh);
  confirmError = "";
  // The list is there already: only the new entries are made. Otherwise the screen is drawn once.
  if (screen === "choose" && document.getElementById("items")) refreshItems();
  else render(false);
  announce(progressText());
  pumpHashes();
}

/** Start the next waiting pictures while a worker is free (one picture per worker at a time). */
function pumpHashes(): void {
  if (hashQueue.length === 0) return;
  const h = getHasher();
  while (hashing < h.size && hashQueue.length > 0) {
    const it = hashQueue.shift()!;
    if (it.removed || it.state !== "waiting") continue;
    hashing++;
    void hashItem(h, it).finally(() => {
      hashing--;
      pumpHashes();
    });
  }
}

async function hashItem(h: Hasher, it: Item): Promise<void> {
  it.state = "working";
  scheduleRefresh();
  try {
    // Pictures over the limit are refused from their header in the worker, before decoding.
    it.result = await h.hash(it.file, { mode: "full" });
    it.state = "done";
    if (!it.removed && !sessionThumbs.has(it.result.hash)) sessionThumbs.set(it.result.hash, thumbUrl(it));
  } catch (err) {
    // The first bytes say what a file that is not a picture is (read only for the ones that failed).
    const head = await it.file.slice(0, 64).arrayBuffer().then((b) => new Uint8Array(b), () => new Uint8Array(0));
    it.state = "error";
    it.error = errorOf(err, head, it.file);
  }
  if (it.removed) return;
  markDuplicates();
  scheduleRefresh();
  if (hashQueue.length === 0 && items.every((i) => i.state === "done" || i.state === "error")) announce(progressText());
}

function confirmScreen(): Child[] {
  const body = submissionBody();
  const count = body?.hashes.length ?? 0;
  return [
    el("h1", {}, t("web.confirm.heading")),
    el("p", { class: "lead" }, t("web.confirm.lead", { count, org: orgName() })),
    el("p", {}, t("web.confirm.nothingElse")),
    el(
      "details",
      { class: "sent", id: "what-is-sent" },
      el("summary", {}, t("web.sent.summary")),
      el("p", {}, t("web.sent.explain")),
      el("pre", { id: "sent-json", tabindex: 0, "aria-label": t("web.sent.heading") }, body ? JSON.stringify(body, null, 2) : "{}"),
    ),
    sendNote ? el("p", { class: "hint", role: "status" }, sendNote) : null,
    el("p", { id: "send-error", class: "error", role: "alert" }, confirmError),
    el(
      "div",
      { class: "actions" },
      button(sending ? t("web.confirm.sending") : t("web.confirm.send"), () => void send(), "primary", { id: "send", disabled: sending || count === 0, "aria-busy": sending ? "true" : undefined }),
      button(t("web.confirm.back"), () => go("choose"), "secondary", { disabled: sending }),
    ),
  ];
}

function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 429 && err.retryAfter !== undefined) return t("web.net.busy", { seconds: Math.ceil(err.retryAfter) });
    return t("web.net.refused", { reason: err.detail ?? err.title });
  }
  return t("web.net.error");
}

async function send(): Promise<void> {
  const body = submissionBody();
  if (!body || !client || sending) return;
  sending = true;
  confirmError = "";
  sendNote = "";
  render(false);
  const key = newIdempotencyKey();
  try {
    const response = await client.createCase(body, { idempotencyKey: key });
    sending = false;
    await onCreated(response, remember);
  } catch (err) {
    sending = false;
    if (isTransient(err)) {
      pending = { key, body, saved: false, note: "" };
      go("pending");
    } else {
      confirmError = describeError(err);
      render(false);
      ($("send-error") as HTMLElement).focus?.();
    }
  }
}

function pendingScreen(): Child[] {
  const p = pending;
  return [
    el("h1", {}, t("web.pending.heading")),
    el("p", { class: "lead" }, t("web.pending.lead")),
    p?.saved
      ? el("p", { class: "notice", role: "status", id: "pending-saved" }, t("web.pending.saved"))
      : el("p", { class: "hint", id: "keep-hint" }, t("web.pending.keepHint")),
    p?.note ? el("p", { class: "error", role: "alert" }, p.note) : null,
    el(
      "div",
      { class: "actions" },
      !p?.saved ? button(t("web.pending.keep"), () => void keepPending(), "primary", { id: "keep", "aria-describedby": "keep-hint" }) : null,
      button(t("web.pending.retry"), () => void retryPending(), p?.saved ? "primary" : "secondary", { id: "retry" }),
      !p?.saved ? button(t("web.pending.discard"), () => { pending = null; go("choose"); }, "secondary", { id: "discard" }) : null,
    ),
  ];
}

async function keepPending(): Promise<void> {
  if (!pending || !client) return;
  await outbox.put({ idempotencyKey: pending.key, server: client.serverUrl, body: pending.body, savedAt: Date.now() });
  pending.saved = true;
  render(false);
  ($("retry") as HTMLElement).focus();
  announce(t("web.pending.saved"));
  scheduleDelivery();
}

async function retryPending(): Promise<void> {
  if (!pending || !client) return;
  if (pending.saved) return void deliverNow();
  try {
    const response = await client.createCase(pending.body, { idempotencyKey: pending.key });
    pending = null;
    await onCreated(response, remember);
  } catch (err) {
    if (pending) pending.note = describeError(err);
    render(false);
  }
}

function scheduleDelivery(): void {
  if (deliveryTimer) clearTimeout(deliveryTimer);
  deliveryTimer = setTimeout(() => void deliverNow(), 2000);
}

async function deliverNow(): Promise<void> {
  if (!client) return;
  if (deliveryTimer) clearTimeout(deliveryTimer);
  deliveryTimer = null;
  const results = await deliverOutbox(client);
  const delivered = results.find((r) => r.response);
  const refused = results.find((r) => r.error && !isTransient(r.error));
  savedOutbox = (await outbox.list()).length;
  if (delivered?.response) {
    pending = null;
    await onCreated(delivered.response, false);
    return;
  }
  if (refused && pending) {
    pending.note = t("web.pending.refused", { reason: describeError(refused.error) });
    render(false);
  }
  if (savedOutbox > 0) scheduleDelivery();
}

async function resumeOutbox(): Promise<void> {
  const list = await outbox.list();
  if (list.length === 0) return;
  pending = { key: list[0].idempotencyKey, body: list[0].body, saved: true, note: "" };
  go("pending");
  void deliverNow();
}

function thumbnailData(src: string): Promise<string | null> {
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => {
      const side = 96;
      const s = Math.min(side / img.naturalWidth, side / img.naturalHeight, 1);
      const c = document.createElement("canvas");
      c.width = Math.max(1, Math.round(img.naturalWidth * s));
      c.height = Math.max(1, Math.round(img.naturalHeight * s));
      c.getContext("2d")!.drawImage(img, 0, 0, c.width, c.height);
      resolve(c.toDataURL("image/jpeg", 0.7));
    };
    img.onerror = () => resolve(null);
    img.src = src;
  });
}

async function onCreated(response: CreateCaseResponse, keep: boolean): Promise<void> {
  let isRemembered = false;
  if (keep && client) {
    const thumbnails: Record<string, string> = {};
    for (const h of response.hashes) {
      if (h.status !== "accepted") continue;
      const src = sessionThumbs.get(h.value);
      const data = src ? await thumbnailData(src) : null;
      if (data) thumbnails[h.value] = data;
    }
    await cases.remember({ caseId: response.caseId, caseSecret: response.caseSecret, server: client.serverUrl, savedAt: Date.now(), thumbnails });
    isRemembered = true;
  }
  created = { response, remembered: isRemembered };
  go("done");
}

function copyButton(value: string, id: string): HTMLButtonElement {
  const b = button(t("web.done.copy"), () => {
    navigator.clipboard.writeText(value).then(
      () => {
        b.textContent = t("web.done.copied");
        announce(t("web.done.copied"));
      },
      () => announce(t("web.done.copyFailed")),
    );
  }, "secondary copy", { id, "aria-label": `${t("web.done.copy")}: ${id === "copy-case" ? t("web.done.caseId") : t("web.done.secret")}` });
  return b;
}

function pageUrl(): string {
  return location.origin + location.pathname;
}

function downloadReceipt(): void {
  if (!created) return;
  const r = created.response;
  const text = [
    t("web.receipt.title"),
    "",
    `${t("web.done.caseId")}: ${r.caseId}`,
    `${t("web.done.secret")}: ${r.caseSecret}`,
    "",
    t("web.receipt.body", { url: pageUrl() }),
    "",
  ].join("\n");
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const a = el("a", { href: url, download: `case-${r.caseId}.txt`, class: "sr-only" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function doneScreen(): Child[] {
  if (!created) return introScreen();
  const r = created.response;
  const rejected = r.hashes.filter((h) => h.status === "rejected").length;
  return [
    el("h1", {}, t("web.done.heading")),
    el("p", { class: "lead" }, t("web.done.lead")),
    el(
      "div",
      { class: "codes", id: "codes" },
      el("div", { class: "code" }, el("p", { class: "code-label", id: "case-label" }, t("web.done.caseId")), el("p", { class: "code-value", id: "case-id", "aria-labelledby": "case-label" }, r.caseId), copyButton(r.caseId, "copy-case")),
      el("div", { class: "code" }, el("p", { class: "code-label", id: "secret-label" }, t("web.done.secret")), el("p", { class: "code-value", id: "case-secret", "aria-labelledby": "secret-label" }, r.caseSecret), copyButton(r.caseSecret, "copy-secret")),
    ),
    el("p", { class: "warning", role: "note" }, t("web.done.warning")),
    rejected ? el("p", { class: "warn" }, t("web.done.rejected", { count: rejected })) : null,
    created.remembered ? el("p", { class: "hint" }, t("web.done.remembered")) : null,
    el(
      "div",
      { class: "actions no-print" },
      button(t("web.done.download"), downloadReceipt, "secondary", { id: "download" }),
      button(t("web.done.print"), () => window.print(), "secondary", { id: "print" }),
      button(t("web.done.status"), () => {
        status = { caseId: r.caseId, secret: r.caseSecret };
        void openStatus(true);
      }, "primary", { id: "to-status" }),
    ),
  ];
}

async function openStatus(load = false): Promise<void> {
  remembered = await cases.list().catch(() => []);
  if (!load) status = { caseId: status.caseId, secret: "" };
  go("status");
  if (load) await checkStatus();
}

async function checkStatus(): Promise<void> {
  if (!client) return;
  status.busy = true;
  status.error = undefined;
  render(false);
  try {
    status.view = await client.getCase(status.caseId.trim(), status.secret.trim());
  } catch (err) {
    status.view = undefined;
    status.error = err instanceof ApiError && err.status === 404 ? t("web.status.notFound") : describeError(err);
  }
  status.busy = false;
  render(false);
  const target = status.error ? document.getElementById("status-error") : document.getElementById("case-title");
  if (target) {
    target.setAttribute("tabindex", "-1");
    target.focus();
  }
}

function askConfirm(title: string, text: string): Promise<boolean> {
  const d = $("confirm-dialog") as HTMLDialogElement;
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  const yes = $("confirm-yes");
  const no = $("confirm-no");
  yes.textContent = t("web.withdraw.confirm");
  no.textContent = t("web.withdraw.cancel");
  const opener = document.activeElement as HTMLElement | null;
  return new Promise((resolve) => {
    const finish = (v: boolean) => {
      yes.removeEventListener("click", onYes);
      no.removeEventListener("click", onNo);
      d.removeEventListener("cancel", onNo);
      d.close();
      opener?.focus();
      resolve(v);
    };
    const onYes = () => finish(true);
    const onNo = () => finish(false);
    yes.addEventListener("click", onYes);
    no.addEventListener("click", onNo);
    d.addEventListener("cancel", onNo);
    d.showModal();
    no.focus();
  });
}

async function withdraw(hashId: string | null): Promise<void> {
  if (!client || !status.view) return;
  const ok = await askConfirm(
    hashId ? t("web.withdraw.oneTitle") : t("web.withdraw.allTitle"),
    hashId ? t("web.withdraw.explain") : t("web.withdraw.explainAll"),
  );
  if (!ok) return;
  try {
    status.view = hashId
      ? await client.withdrawHash(status.caseId, status.secret, hashId)
      : await client.withdrawCase(status.caseId, status.secret);
    status.note = t("web.withdraw.done");
    status.error = undefined;
  } catch (err) {
    status.error = describeError(err);
  }
  render(false);
  announce(status.error ?? t("web.withdraw.done"));
  document.getElementById("case-title")?.focus();
}

function statusScreen(): Child[] {
  const form = el(
    "form",
    { class: "status-form", id: "status-form", novalidate: true },
    el("label", { for: "case-input" }, t("web.status.caseId")),
    el("input", { id: "case-input", name: "case", autocomplete: "off", autocapitalize: "off", spellcheck: "false", value: status.caseId, required: true }),
    el("label", { for: "secret-input" }, t("web.status.secret")),
    el("input", { id: "secret-input", name: "secret", type: "password", autocomplete: "off", value: status.secret, required: true }),
    el("button", { type: "submit", class: "primary", id: "check", disabled: status.busy }, status.busy ? t("web.status.checking") : t("web.status.check")),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    status.caseId = (form.querySelector("#case-input") as HTMLInputElement).value;
    status.secret = (form.querySelector("#secret-input") as HTMLInputElement).value;
    void checkStatus();
  });
  const v = status.view;
  const rememberedThumbs = remembered.find((c) => c.caseId === v?.caseId)?.thumbnails ?? {};
  return [
    el("h1", {}, t("web.status.heading")),
    el("p", { class: "lead" }, t("web.status.lead")),
    remembered.length
      ? el(
          "section",
          { class: "remembered", "aria-labelledby": "remembered-title" },
          el("h2", { id: "remembered-title" }, t("web.status.remembered")),
          el("ul", {}, ...remembered.map((c) => el("li", {}, button(t("web.status.open", { caseId: c.caseId }), () => {
            status = { caseId: c.caseId, secret: c.caseSecret };
            void checkStatus();
          }, "link")))),
        )
      : null,
    form,
    status.error ? el("p", { class: "error", role: "alert", id: "status-error" }, status.error) : null,
    v
      ? el(
          "section",
          { class: "case", "aria-labelledby": "case-title", id: "case-view" },
          el("h2", { id: "case-title", tabindex: -1 }, t("web.status.case", { caseId: v.caseId })),
          el("p", {}, t("web.status.created", { date: new Date(v.createdAt).toLocaleDateString(lang === "es" ? "es-419" : "en") })),
          el("p", { class: v.status === "active" ? "ok" : "hint", id: "case-status" }, v.status === "active" ? t("web.status.caseActive") : t("web.status.caseWithdrawn")),
          status.note ? el("p", { class: "hint" }, status.note) : null,
          el(
            "ul",
            { class: "items", id: "case-hashes" },
            ...v.hashes.map((h, i) => {
              const thumb = sessionThumbs.get(h.value) ?? rememberedThumbs[h.value];
              return el(
                "li",
                { class: `item ${h.status}`, "data-hash-status": h.status },
                thumb ? el("img", { src: thumb, alt: t("web.choose.thumb", { number: i + 1 }), class: "thumb", width: 96, height: 96 }) : el("div", { class: "thumb none" }, t("web.status.noPreview")),
                el(
                  "div",
                  { class: "item-body" },
                  el("p", { class: "hash-title" }, t("web.status.hash", { number: i + 1 }), " · ", el("strong", {}, h.status === "active" ? t("web.status.active") : t("web.status.withdrawn"))),
                  el("p", { class: "mono" }, `${h.value.slice(0, 8)}…${h.value.slice(-8)}`),
                  el("p", { class: "hint" }, t("web.status.feedback", { blocked: h.feedback.blocked, notBlocked: h.feedback.notBlocked, pending: h.feedback.pendingReview })),
                ),
                h.status === "active" ? button(t("web.status.withdrawOne", { number: i + 1 }), () => void withdraw(h.id), "secondary withdraw-one") : null,
              );
            }),
          ),
          el(
            "div",
            { class: "actions" },
            v.hashes.some((h) => h.status === "active") ? button(t("web.status.withdrawAll"), () => void withdraw(null), "danger", { id: "withdraw-all" }) : null,
            button(t("web.status.refresh"), () => void checkStatus(), "secondary", { id: "refresh" }),
            remembered.some((c) => c.caseId === v.caseId)
              ? button(t("web.status.forget"), () => void cases.forget(v.caseId).then(async () => {
                  remembered = await cases.list();
                  render(false);
                }), "secondary", { id: "forget-case" })
              : null,
          ),
        )
      : null,
    el(
      "div",
      { class: "actions" },
      button(t("web.choose.back"), () => go("intro"), "secondary", { id: "status-back" }),
      remembered.length || savedOutbox
        ? button(t("web.forget.all"), () => void forgetEverything().then(() => {
            remembered = [];
            savedOutbox = 0;
            announce(t("web.forget.done"));
            render(false);
          }), "secondary", { id: "forget-all" })
        : null,
    ),
  ];
}

// ---------------------------------------------------------------- start

function applyColours(): void {
  const s = document.documentElement.style;
  const c = config.colours;
  s.setProperty("--primary", c.primary);
  s.setProperty("--primary-text", c.primaryText);
  s.setProperty("--bg", c.background);
  s.setProperty("--text", c.text);
  s.setProperty("--accent", c.accent);
}

async function start(): Promise<void> {
  let problem = "";
  try {
    const res = await fetch("config.json", { cache: "no-store", credentials: "omit" });
    if (res.ok) config = checkConfig(await res.json());
    else if (res.status !== 404) problem = `config.json: HTTP ${res.status}`;
  } catch (err) {
    problem = `config.json: ${err instanceof Error ? err.message : String(err)}`;
  }
  lang = pickLang(config, navigator.languages ?? [navigator.language]);
  applyColours();
  try {
    client = new BrowserClient({
      server: config.server ? new URL(config.server, location.href).href : location.origin,
      client: { name: config.clientName ?? "hashsafe-web", version: "0.1.0" },
      lang: () => lang, // the server's problem details come back in the page's language
      timeoutMs: 20_000,
      retry: { maxAttempts: 3, baseDelayMs: 400, maxDelayMs: 3000 },
      onRetry: () => {
        if (screen === "confirm") {
          sendNote = t("web.confirm.retrying");
          render(false);
        }
      },
    });
  } catch (err) {
    problem = err instanceof Error ? err.message : String(err);
  }
  setLang(lang);
  document.documentElement.classList.add("ready");
  if (problem) {
    $("main").replaceChildren(el("h1", {}, t("web.title")), el("p", { class: "error", role: "alert" }, t("web.config.error", { reason: problem, org: orgName() })));
    return;
  }
  window.addEventListener("online", () => {
    if (savedOutbox > 0 || pending?.saved) void deliverNow();
  });
  if (await hasLocalData().catch(() => false)) {
    savedOutbox = (await outbox.list()).filter((e) => e.server === client!.serverUrl).length;
    if (savedOutbox > 0) return void resumeOutbox();
  }
  // The intro (and its Start button) is on the page from setLang on; a person who already
  // pressed Start while this device's saved data was being checked stays where they went.
  if (screen !== "intro") return;
  go("intro");
  // The first screen keeps focus at the top of the page on load.
  (document.activeElement as HTMLElement | null)?.blur();
}

void start();
