import type { ReactNode } from 'react';

/** What a newcomer sees where a list is empty: what it is for and what to do next. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <h2>{title}</h2>
      {children}
    </div>
  );
}
