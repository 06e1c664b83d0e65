import { EmptyState } from '../components/EmptyState';

export default function Knowledge() {
  return (
    <section>
      <h1>Knowledge</h1>
      <EmptyState title="Coming soon">
        <p>This page is not built yet. The API under /v1 and the CLI do everything it will.</p>
      </EmptyState>
    </section>
  );
}
