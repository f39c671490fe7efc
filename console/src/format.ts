const integer = new Intl.NumberFormat('en-GB');

export const formatInt = (value: number) => integer.format(value);

export const formatTime = (iso: string | null | undefined) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—');

export const formatMoney = (money: { amount: string; currency: string } | null | undefined) => (money ? `${money.amount} ${money.currency}` : '—');
