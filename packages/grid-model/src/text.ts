/** At most `max` items joined by ", ", then "+n more" (lists in reports and notes). */
export function cappedList(items: readonly string[], max: number): string {
  return items.length > max
    ? `${items.slice(0, max).join(", ")}, +${items.length - max} more`
    : items.join(", ");
}
