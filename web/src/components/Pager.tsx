/** The page size of the console's offset-paged lists (agents, keys, tenants, MCP servers, …). */
export const PAGE_SIZE = 25;

/**
 * Previous / Next over an offset-paged list route (`{ data, total, limit, offset }`): the one pager
 * of the console, so every list past its first page reads the same. Nothing shows while one page
 * holds everything.
 */
export function Pager({
  label,
  page,
  offset,
  pageSize = PAGE_SIZE,
  onOffset,
}: {
  /** Names the navigation landmark, e.g. "API key pages". */
  label: string;
  /**
   * The page the list route answered; nothing shows while it loads. While the next one loads the
   * previous one is still shown, so the range comes from the answer, not from `offset`.
   */
  page: { data: readonly unknown[]; total: number; offset: number } | undefined;
  offset: number;
  pageSize?: number;
  onOffset: (offset: number) => void;
}) {
  if (!page || (offset === 0 && page.total <= pageSize)) return null;
  const { total } = page;
  const shown = page.data.length;
  const first = page.offset;
  return (
    <nav className="pager" aria-label={label}>
      <button
        type="button"
        className="secondary"
        disabled={offset === 0}
        onClick={() => onOffset(Math.max(0, offset - pageSize))}
      >
        Previous
      </button>
      <span>
        {shown === 0 ? 0 : first + 1}–{first + shown} of {total}
      </span>
      <button
        type="button"
        className="secondary"
        disabled={offset + pageSize >= total}
        onClick={() => onOffset(offset + pageSize)}
      >
        Next
      </button>
    </nav>
  );
}
