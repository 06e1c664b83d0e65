"""The caller's tools on an Agentry agent model through the openai Python client, as an app writes
them: a Chat Completions tool loop and a Responses one. Prints what came back as JSON for the test
(test/doors/python-openai.test.ts) to check."""

import json
import os

from openai import OpenAI

client = OpenAI(base_url=os.environ["AGENTRY_URL"] + "/v1", api_key=os.environ["AGENTRY_KEY"], max_retries=0)
model = os.environ["AGENTRY_MODEL"]
weather = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def windy(arguments: str) -> str:
    return "windy in " + json.loads(arguments)["city"]


# Chat Completions: the model asks for the tool, the tool message carries its result back.
messages = [{"role": "user", "content": "use the get_weather tool for 'Lima'"}]
tools = [{"type": "function", "function": weather}]
first = client.chat.completions.create(model=model, messages=messages, tools=tools)
asked = first.choices[0].message
call = asked.tool_calls[0]
messages.append(asked.model_dump(exclude_none=True))
messages.append({"role": "tool", "tool_call_id": call.id, "content": windy(call.function.arguments)})
second = client.chat.completions.create(model=model, messages=messages, tools=tools)

# Responses: a function_call item, answered by function_call_output after previous_response_id.
r1 = client.responses.create(model=model, input="use the get_weather tool for 'Quito'", tools=[{"type": "function", **weather}])
fc = next(item for item in r1.output if item.type == "function_call")
r2 = client.responses.create(
    model=model,
    previous_response_id=r1.id,
    input=[{"type": "function_call_output", "call_id": fc.call_id, "output": windy(fc.arguments)}],
    tools=[{"type": "function", **weather}],
)

print(
    json.dumps(
        {
            "chat": {
                "finish_reason": first.choices[0].finish_reason,
                "tool": call.function.name,
                "arguments": json.loads(call.function.arguments),
                "answer": second.choices[0].message.content,
            },
            "responses": {"tool": fc.name, "arguments": json.loads(fc.arguments), "answer": r2.output_text},
        }
    )
)
