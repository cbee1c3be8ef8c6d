import type { AccountDto } from '@rolecall/contracts';

/** What the Account page gives a card that changes the account (SsoCard, OktaCard). */
export interface AccountCardProps {
  account: AccountDto;
  canManage: boolean;
  /** The account as the API answered it after a change. */
  onsaved: (account: AccountDto) => void;
  /** Another admin changed the account first (412): reload it. */
  onstale: () => Promise<void>;
}
