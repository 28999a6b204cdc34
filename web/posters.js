// Choosing a movie's poster on the add and edit pages: a preview of the chosen file before it is
// sent, replace and remove; the upload itself after the movie is saved.

import * as api from "./api.js";
import { posterImage } from "./cards.js";
import { h } from "./ui.js";

const TYPES = ["image/jpeg", "image/png", "image/webp"];
const MAX_BYTES = 10 * 1024 * 1024;
const PREVIEW_WIDTH = 160;

/**
 * The poster part of a movie form. `movie` is the movie being edited (null on the add page).
 * Returns `{ element, pending() }`; `pending()` is what saving should do with the poster:
 * `{ upload: File }`, `{ remove: true }` or nothing to do (null).
 *
 * The preview is drawn on a canvas from the decoded file: the page's policy allows images from
 * this origin only (`img-src 'self'`), so a `blob:` or `data:` URL of the file could not show.
 */
export function posterPicker(movie) {
  const hasPoster = Boolean(movie && movie.poster);
  let chosen = null;
  let removing = false;
  const preview = h("div", { class: "poster-preview" });
  const status = h("p", { class: "hint", "aria-live": "polite" });
  const error = h("p", { class: "error", role: "alert", "data-error-for": "poster" });
  const input = h("input", { type: "file", id: "poster-file", accept: TYPES.join(","), class: "visually-hidden" });
  const chooseLabel = h("label", { for: "poster-file", class: "button secondary" }, hasPoster ? "Replace poster" : "Choose a poster");
  const remove = h("button", { type: "button", class: "secondary" }, "Remove poster");
  const undo = h("button", { type: "button", class: "secondary" }, hasPoster ? "Keep the current poster" : "Do not add a poster");

  function showCurrent() {
    preview.replaceChildren(movie ? posterImage(movie, { width: PREVIEW_WIDTH, eager: true, alt: `Current poster of ${movie.name}` }) : posterImage({ name: "", poster: null }, { width: PREVIEW_WIDTH }));
    status.textContent = hasPoster ? "The current poster." : "No poster yet: JPEG, PNG or WebP, up to 10 MB.";
    remove.hidden = !hasPoster;
    undo.hidden = true;
  }

  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) {
      return;
    }
    error.textContent = "";
    if (!TYPES.includes(file.type)) {
      error.textContent = "Choose a JPEG, PNG or WebP image.";
      return;
    }
    if (file.size > MAX_BYTES) {
      error.textContent = `This image is ${(file.size / 1024 / 1024).toFixed(1)} MB; a poster may be up to 10 MB.`;
      return;
    }
    let canvas;
    try {
      canvas = await drawPreview(file);
    } catch {
      error.textContent = "This file could not be read as an image. Choose another one.";
      return;
    }
    chosen = file;
    removing = false;
    preview.replaceChildren(canvas);
    status.textContent = `${file.name} will be ${hasPoster ? "the new poster" : "the poster"} when you save.`;
    remove.hidden = true;
    undo.hidden = false;
  });
  remove.addEventListener("click", () => {
    chosen = null;
    removing = true;
    preview.replaceChildren(posterImage({ name: movie.name, poster: null }, { width: PREVIEW_WIDTH }));
    status.textContent = "The poster will be removed when you save.";
    remove.hidden = true;
    undo.hidden = false;
    undo.focus();
  });
  undo.addEventListener("click", () => {
    chosen = null;
    removing = false;
    showCurrent();
    chooseLabel.focus();
  });
  // A label styled as a button is reached by Tab only through its input: keep the input
  // focusable (visually hidden, not display:none) and show its focus on the label.
  showCurrent();
  const element = h(
    "fieldset",
    { class: "poster-picker" },
    h("legend", {}, "Poster"),
    preview,
    h("div", { class: "poster-controls" }, status, h("div", { class: "actions" }, input, chooseLabel, remove, undo), error),
  );
  return { element, pending: () => (chosen ? { upload: chosen } : removing ? { remove: true } : null), showError: (message) => (error.textContent = message) };
}

/** The chosen file drawn PREVIEW_WIDTH pixels wide, as an image a screen reader can name. */
async function drawPreview(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = h("canvas", { class: "poster", role: "img", "aria-label": `Preview of ${file.name}` });
  canvas.width = PREVIEW_WIDTH;
  canvas.height = Math.max(1, Math.round((PREVIEW_WIDTH * bitmap.height) / bitmap.width));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return canvas;
}

/** Does what the picker asks for the movie `id`: uploads the chosen file or removes the poster. */
export async function savePoster(id, pending) {
  const path = `/api/movies/${encodeURIComponent(id)}/poster`;
  if (pending && pending.upload) {
    await api.request("PUT", path, { auth: true, body: pending.upload });
  } else if (pending && pending.remove) {
    await api.request("DELETE", path, { auth: true });
  }
}
