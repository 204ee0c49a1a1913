// A translator's correction of a message's translation, loaded on first use: an editor
// under the message; saved, it is what every reader of the language reads, marked
// reviewed (PUT /api/channels/{id}/messages/{seq}/translations/{lang}).
import { api } from "/protocol.js";
import { el } from "/dom.js";
import { t, language } from "/i18n.js";

export function correct(chat, m) {
  const li = document.querySelector(`#messages li[data-seq="${m.seq}"]`);
  if (!li || li.querySelector(".mt-editor")) return;
  const area = el("textarea", { rows: 3, maxlength: 8000, "aria-label": t("chat.mt_correct") });
  area.value = m.translation?.text ?? "";
  const error = el("span", { class: "error", role: "alert" });
  const path = `/api/channels/${encodeURIComponent(m.channel)}/messages/${m.seq}/translations/${language()}`;
  const save = async () => {
    try {
      m.translation = await api(path, { method: "PUT", body: { text: area.value } });
      m.original = false;
      chat.rerender(m);
    } catch (err) {
      error.textContent = err.message;
    }
  };
  li.append(el("div", { class: "mt-editor" }, area,
    el("button", { type: "button", class: "primary", text: t("case.save"), onclick: save }),
    el("button", { type: "button", text: t("case.cancel"), onclick: () => chat.rerender(m) }),
    error));
  area.focus();
}
