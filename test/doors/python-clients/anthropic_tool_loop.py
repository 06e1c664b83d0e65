"""The caller's tools on an Agentry agent model through the anthropic Python client, as an app
writes them: a tool_use answered by a tool_result block. Prints what came back as JSON for the test
(test/doors/python-clients.test.ts) to check."""

import json
import os

from anthropic import Anthropic

client = Anthropic(base_url=os.environ["AGENTRY_URL"], api_key=os.environ["AGENTRY_KEY"], max_retries=0)
model = os.environ["AGENTRY_MODEL"]
tools = [
    {
        "name": "get_weather",
        "description": "The weather in a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]
messages = [{"role": "user", "content": "use the get_weather tool for 'Bern'"}]
first = client.messages.create(model=model, max_tokens=512, messages=messages, tools=tools)
use = next(block for block in first.content if block.type == "tool_use")
messages.append({"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]})
messages.append(
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "windy in " + use.input["city"]}],
    }
)
second = client.messages.create(model=model, max_tokens=512, messages=messages, tools=tools)
print(
    json.dumps(
        {
            "stop_reason": first.stop_reason,
            "tool": use.name,
            "input": use.input,
            "answer": "".join(block.text for block in second.content if block.type == "text"),
        }
    )
)
