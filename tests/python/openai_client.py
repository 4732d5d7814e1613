"""Asks askdesk one question through the official OpenAI Python client, once as a plain
completion and once streamed with the usage chunk asked for, and prints one JSON line:
{"text", "streamed_text", "id", "stream_ids", "usage", "stream_usage"}. Used by tests/integration/openai_compat.rs to check that an unmodified OpenAI
client works against the OpenAI-compatible API.

Usage: openai_client.py BASE_URL API_KEY TENANT QUESTION   (BASE_URL ends in /v1)
"""

import json
import sys

from openai import OpenAI


def main() -> None:
    base_url, api_key, tenant, question = sys.argv[1:5]
    client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)
    messages = [{"role": "user", "content": question}]

    completion = client.chat.completions.create(model=tenant, messages=messages)

    streamed, stream_ids, stream_usage = [], set(), None
    for chunk in client.chat.completions.create(
        model=tenant, messages=messages, stream=True, stream_options={"include_usage": True}
    ):
        stream_ids.add(chunk.id)
        if chunk.choices and chunk.choices[0].delta.content:
            streamed.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            stream_usage = chunk.usage.model_dump()

    print(
        json.dumps(
            {
                "text": completion.choices[0].message.content,
                "id": completion.id,
                "streamed_text": "".join(streamed),
                "stream_ids": sorted(stream_ids),
                "usage": completion.usage.model_dump(),
                "stream_usage": stream_usage,
            }
        )
    )


if __name__ == "__main__":
    main()
