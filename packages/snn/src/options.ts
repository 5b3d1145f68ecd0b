/**
 * How an error message names an option of a configuration object: the key itself by default; a command line
 * passes its flag spelling (`tau` → `--tau`) so the message names what its user typed.
 */
export type OptionName = (key: string) => string;

export const asIs: OptionName = (key) => key;
