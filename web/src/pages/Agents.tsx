import { Route, Routes } from 'react-router';
import { AgentList } from '../features/agents/AgentList';
import { EditAgent } from '../features/agents/EditAgent';
import { GenerateAgent } from '../features/agents/GenerateAgent';
import { LocalDevAgent } from '../features/agents/LocalDevAgent';
import { NewAgent } from '../features/agents/NewAgent';
import '../components/ui.css';
import '../features/agents/agents.css';

/** /agents, /agents/new (?from=template), /agents/generate, /agents/local-dev, /agents/:id. */
export default function Agents() {
  return (
    <Routes>
      <Route index element={<AgentList />} />
      <Route path="new" element={<NewAgent />} />
      <Route path="generate" element={<GenerateAgent />} />
      <Route path="local-dev" element={<LocalDevAgent />} />
      <Route path=":id" element={<EditAgent />} />
    </Routes>
  );
}
