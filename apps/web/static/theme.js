// The theme chosen on My account, applied before the first paint of every page: a blocking file
// in <head> (the Content-Security-Policy allows no inline script). `localStorage["rolecall.theme"]`
// is "light" or "dark"; absent, the system's (prefers-color-scheme) applies. `data-theme` on <html>
// switches the design tokens (theme.css). Kept in step with src/lib/theme.svelte.ts, which changes
// it; a change made in another tab applies here at once.
(function () {
  var KEY = 'rolecall.theme';
  function apply() {
    var theme = null;
    try {
      theme = window.localStorage.getItem(KEY);
    } catch (error) {
      // Storage blocked: the system's theme.
    }
    if (theme === 'light' || theme === 'dark') document.documentElement.setAttribute('data-theme', theme);
    else document.documentElement.removeAttribute('data-theme');
  }
  apply();
  window.addEventListener('storage', function (event) {
    if (event.key === KEY || event.key === null) apply();
  });
})();
