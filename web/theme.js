// Light, dark or the system's choice; kept in localStorage.
export const THEMES = ["auto", "light", "dark"];

export function theme() {
  const saved = localStorage.getItem("liaison.theme");
  return THEMES.includes(saved) ? saved : "auto";
}

export function applyTheme(choice = theme()) {
  localStorage.setItem("liaison.theme", choice);
  if (choice === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
}
