import { Route, Routes } from 'react-router';
import { AgentList } from './AgentList';
import { AgentVersions } from './AgentVersions';
import { EditAgent } from './EditAgent';
import { GenerateAgent } from './GenerateAgent';
import { LocalDevAgent } from './LocalDevAgent';
import { NewAgent } from './NewAgent';
import '../../components/ui.css';
import './agents.css';

/** /agents, /agents/new (?from=template), /agents/generate, /agents/local-dev, /agents/:id, /agents/:id/versions. */
export default function Agents() {
  return (
    <Routes>
      <Route index element={<AgentList />} />
      <Route path="new" element={<NewAgent />} />
      <Route path="generate" element={<GenerateAgent />} />
      <Route path="local-dev" element={<LocalDevAgent />} />
      <Route path=":id" element={<EditAgent />} />
      <Route path=":id/versions" element={<AgentVersions />} />
    </Routes>
  );
}
