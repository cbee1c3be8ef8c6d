/** Short confirmations after an action ("Name saved."), announced politely to screen readers. */

interface Toast {
  id: number;
  kind: 'success' | 'error';
  text: string;
}

const VISIBLE_MS = 5000;

class Toasts {
  items = $state<Toast[]>([]);
  #next = 1;

  show(text: string, kind: Toast['kind'] = 'success'): void {
    const id = this.#next++;
    this.items.push({ id, kind, text });
    setTimeout(() => this.dismiss(id), VISIBLE_MS);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((toast) => toast.id !== id);
  }
}

export const toasts = new Toasts();
