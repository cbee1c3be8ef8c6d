/**
 * The theme switch of My account (issue 15): system, light or dark, kept in this browser's
 * localStorage and applied at once as `data-theme` on <html> (static/theme.css holds the tokens).
 * static/theme.js reads the same key in <head> before the first paint of every page, and applies a
 * change made in another tab; this module changes it from the page.
 */

export const THEMES = ['system', 'light', 'dark'] as const;
export type ThemeChoice = (typeof THEMES)[number];

/** Shared with static/theme.js. */
const THEME_KEY = 'rolecall.theme';

function parse(value: string | null | undefined): ThemeChoice {
  return value === 'light' || value === 'dark' ? value : 'system';
}

function stored(): ThemeChoice {
  try {
    return parse(globalThis.localStorage?.getItem(THEME_KEY));
  } catch {
    return 'system';
  }
}

function apply(choice: ThemeChoice): void {
  if (typeof document === 'undefined') return;
  if (choice === 'system') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', choice);
}

class Theme {
  choice = $state<ThemeChoice>(stored());

  constructor() {
    // Another tab chose (theme.js applies it to this page): show its choice here too.
    globalThis.addEventListener?.('storage', (event: StorageEvent) => {
      if (event.key === THEME_KEY || event.key === null) this.choice = stored();
    });
  }

  /** Applies `choice` to this page at once and keeps it for every page of this browser. */
  set(choice: ThemeChoice): void {
    this.choice = choice;
    apply(choice);
    try {
      if (choice === 'system') localStorage.removeItem(THEME_KEY);
      else localStorage.setItem(THEME_KEY, choice);
    } catch {
      // Storage blocked: the choice holds for this page only.
    }
  }
}

export const theme = new Theme();
