/**
 * The Users page's selection for bulk actions (issue 17 §2): ticked rows, or every member matching
 * the filters ("Select all N matching"), and the bulk request being previewed.
 */
import type { BulkMembersRequest } from '@rolecall/contracts';
import { bulkRequest, type BulkChoice, type BulkSelection } from '$lib/services/users-bulk.service';
import type { MemberList } from './member-list.svelte';

export class MemberSelection {
  ticked = $state(new Set<string>());
  allMatching = $state(false);
  choice = $state<BulkChoice | null>(null);
  request = $state<BulkMembersRequest | null>(null);
  previewOpen = $state(false);
  readonly #list: MemberList;

  constructor(list: MemberList) {
    this.#list = list;
  }

  /** Whether anything is selected. */
  get any(): boolean {
    return this.ticked.size > 0 || this.allMatching;
  }

  /** Every row of the page is ticked. */
  get pageTicked(): boolean {
    const items = this.#list.items;
    return items.length > 0 && items.every((m) => this.ticked.has(m.id));
  }

  /** The ids the table shows ticked. */
  get shown(): Set<string> {
    return this.allMatching ? new Set(this.#list.items.map((m) => m.id)) : this.ticked;
  }

  clear(): void {
    this.ticked = new Set();
    this.allMatching = false;
  }

  select(ids: string[], on: boolean): void {
    // Unticking one of "all matching" keeps the rest of the page ticked.
    const next = new Set(this.allMatching ? this.#list.items.map((m) => m.id) : this.ticked);
    for (const id of ids) {
      if (on) next.add(id);
      else next.delete(id);
    }
    this.ticked = next;
    if (!on) this.allMatching = false;
  }

  /** Opens the preview of `choice` for the selection. */
  preview(choice: BulkChoice): void {
    const list = this.#list;
    const selection: BulkSelection = this.allMatching
      ? { kind: 'filter', filters: list.filters, total: list.total }
      : { kind: 'ids', ids: [...this.ticked] };
    this.choice = choice;
    this.request = bulkRequest(selection, choice);
    this.previewOpen = true;
  }
}
