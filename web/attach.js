// Messages with files, from the device to the hub. Loaded only when a message with files
// is waiting (chat.js keeps it in IndexedDB first, offline-store.js), so a phone that
// never sends a file never fetches this nor the upload client.
//
// Each message goes through three steps, each written to IndexedDB before the next, so a
// reload or a browser restart resumes where it stood and nothing is done twice:
//   1. a photo is made smaller (longest side LONGEST_SIDE, JPEG quality QUALITY) unless
//      its sender chose "send original"; the smaller copy replaces the chosen file;
//   2. each file is uploaded with tus-js-client (web/vendor, the npm registry's build),
//      resuming at the hub's offset from the upload URL kept at creation;
//   3. once every file is up, the message is published with the upload ids, under the
//      client_msg_id it was given when written: the hub stores it once, however often
//      this runs.
import { keptPosts, keepPost, dropPost } from "/offline-store.js";

export const LONGEST_SIDE = 1600;
export const QUALITY = 0.8;
const SHRINKABLE = /^image\/(jpeg|png|webp)$/;   // what a browser decodes (not HEIC)

/** A photo no longer than `longest` on either side, as a JPEG; any other file, or a
 *  photo the copy would not make smaller, as it is. Only pixels are kept: the copy has
 *  no EXIF (the hub re-encodes whatever it gets anyway). */
export async function shrink(file, { longest = LONGEST_SIDE, quality = QUALITY } = {}) {
  if (!SHRINKABLE.test(file.type)) return file;
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return file;   // not decodable here: the hub decides
  }
  const scale = Math.min(1, longest / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";   // a transparent PNG becomes a JPEG on white, not black
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const copy = await canvas.convertToBlob({ type: "image/jpeg", quality });
  return copy.size < file.size ? copy : file;
}

let loading = null;

/** tus-js-client, loaded once on first use (a classic script that sets globalThis.tus). */
function tusClient() {
  loading ||= new Promise((resolve, reject) => {
    const script = Object.assign(document.createElement("script"), { src: "/vendor/tus.min.js" });
    script.onload = () => resolve(globalThis.tus);
    script.onerror = () => { loading = null; script.remove(); reject(new Error("upload client unreachable")); };
    document.head.append(script);
  });
  return loading;
}

/** The status of a failed tus request, or 0 when the hub was not reached. */
const statusOf = (err) => err?.originalResponse?.getStatus?.() || 0;

function upload(tus, blob, { url, metadata, onUrl, onProgress }) {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(blob, {
      endpoint: "/api/uploads",
      uploadUrl: url || null,
      metadata,
      retryDelays: [0, 1000, 3000, 5000, 10000],   // then it waits for the hub to be live again
      storeFingerprintForResuming: false,          // the URL is kept with the message instead
      onUploadUrlAvailable: () => onUrl(up.url),
      onProgress,
      onSuccess: () => resolve(up.url),
      onError: reject,
    });
    up.start();
  });
}

/** Send every waiting message of `user`'s: events on `events` say what happened
 *  ("changed", "progress", "refused" with { post, status, reason }). Runs one pass at a
 *  time; asked again meanwhile, it runs once more after. */
export function sendWaiting({ user, client, events }) {
  sendWaiting.again = true;
  sendWaiting.running ||= (async () => {
    try {
      while (sendWaiting.again) {
        sendWaiting.again = false;
        await pass(user, client, events);
      }
    } finally { sendWaiting.running = null; }
  })();
  return sendWaiting.running;
}

const emit = (events, type, detail) => events?.dispatchEvent(new CustomEvent(type, { detail }));

async function pass(user, client, events) {
  for (const post of await keptPosts(user)) {
    try {
      await sendOne(post, user, client, events);
    } catch (err) {
      const status = statusOf(err);
      if (!status || status >= 500 || status === 423) return;   // the hub is away: later
      await dropPost(post.id);   // refused (too large, a kind not allowed): it never will pass
      emit(events, "refused", { post, status, reason: err.originalResponse?.getBody?.() || err.message });
    }
    emit(events, "changed", { post });
  }
}

async function sendOne(post, user, client, events) {
  for (const [i, f] of post.files.entries()) {
    if (f.id) continue;
    if (!f.ready) {
      f.blob = post.original ? f.blob : await shrink(f.blob);
      f.ready = true;
      await keepPost(user, post);
    }
    const tus = await tusClient();
    const metadata = { filename: f.name, filetype: f.blob.type || f.type || "", channel: post.channel };
    const url = await upload(tus, f.blob, {
      url: f.url, metadata,
      onUrl: (u) => { f.url = u; keepPost(user, post); },
      onProgress: (sent, total) => emit(events, "progress", { post, file: i, sent, total }),
    });
    f.id = url.split("/").pop();
    await keepPost(user, post);
  }
  client.publish(post.channel, post.text, post.priority, post.id,
                 { ...post.extra, attach: post.files.map((f) => f.id) });   // kept in the chat outbox
  await dropPost(post.id);
}
