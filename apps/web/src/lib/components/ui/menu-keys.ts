/**
 * The keys that move focus in an open menu (the WAI-ARIA menu pattern), shared by the menu buttons:
 * ↓ and ↑ go to the next and previous entry (round the ends), Home and End to the first and last.
 * Returns whether the key was one of them (its default action is then prevented).
 */
export function moveMenuFocus(event: KeyboardEvent, entries: readonly HTMLElement[]): boolean {
  const at = entries.indexOf(document.activeElement as HTMLElement);
  let next: number;
  switch (event.key) {
    case 'ArrowDown':
      next = at + 1;
      break;
    case 'ArrowUp':
      next = at - 1;
      break;
    case 'Home':
      next = 0;
      break;
    case 'End':
      next = entries.length - 1;
      break;
    default:
      return false;
  }
  event.preventDefault();
  entries[(next + entries.length) % entries.length]?.focus();
  return true;
}
