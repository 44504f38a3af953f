"""Shopify's own GraphQL Admin schema (introspection, 2025-01), loaded once, and a simple query-cost estimate.

The schema file ships inside the package (with its ISC licence, SHOPIFY_SCHEMA_LICENSE) so the fake shop never
reads `../shared/` at run time.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_client_schema,
    get_named_type,
    is_composite_type,
)

SCHEMA_VERSION = "2025-01"
SCHEMA_FILE = Path(__file__).with_name(f"admin_schema_{SCHEMA_VERSION}.json.gz")

# Shopify's documented costs: scalars and enums 0, objects 1, mutations 10, connections sized by `first`/`last`
# (2 for the connection itself plus the page size times the cost of one node). See `estimate_cost`.
MUTATION_COST = 10
CONNECTION_BASE_COST = 2
MAX_SINGLE_QUERY_COST = 1000  # Shopify refuses a single query whose requested cost is above this


@functools.cache
def admin_schema() -> GraphQLSchema:
    """Built once per process: the file holds 2,709 types and takes about a second to build."""
    with gzip.open(SCHEMA_FILE, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    # assume_valid: Shopify's published schema breaks one of graphql-core 3.3's schema rules (interface fields
    # not deprecated whose implementations are, e.g. Node.id on DiscountAutomaticBxgy). That says nothing about
    # the documents sent to it, which are still validated in full.
    return build_client_schema(data["data"], assume_valid=True)


def _page_size(field: FieldNode, variables: dict[str, object]) -> int | None:
    for arg in field.arguments or ():
        if arg.name.value not in ("first", "last"):
            continue
        if isinstance(arg.value, IntValueNode):
            return int(arg.value.value)
        if isinstance(arg.value, VariableNode):
            value = variables.get(arg.value.name.value)
            if isinstance(value, int):
                return value
    return None


def estimate_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, object],
) -> int:
    """An approximation of Shopify's requested query cost, good enough to exercise a client's throttling.

    Approximations: every object-typed field costs 1 (Shopify gives some fields custom costs); a field whose type
    ends in `Connection` costs 2 + page size x the cost of its selection; the selections of inline fragments are
    summed rather than maxed over the possible types (an overestimate, never an underestimate); a mutation's
    root field costs 10 plus its payload.
    """
    root: GraphQLObjectType | None = (
        schema.mutation_type if operation.operation == OperationType.MUTATION else schema.query_type
    )
    if root is None:
        return 0

    def selection_cost(selection_set: SelectionSetNode | None, parent: GraphQLNamedType, depth: int) -> int:
        if selection_set is None or depth > 30:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                fields = getattr(parent, "fields", None)
                if fields is None or sel.name.value not in fields:
                    continue  # __typename, or something validation already refused
                field_type = get_named_type(fields[sel.name.value].type)
                inner = selection_cost(sel.selection_set, field_type, depth + 1)
                if depth == 0 and operation.operation == OperationType.MUTATION:
                    total += MUTATION_COST + inner
                elif field_type.name.endswith("Connection"):
                    size = _page_size(sel, variables) or 1
                    total += CONNECTION_BASE_COST + size * inner
                elif is_composite_type(field_type):
                    total += 1 + inner
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                target = schema.get_type(cond.name.value) if cond else parent
                total += selection_cost(sel.selection_set, target or parent, depth)
            elif isinstance(sel, FragmentSpreadNode):
                frag = fragments.get(sel.name.value)
                if frag is not None:
                    target = schema.get_type(frag.type_condition.name.value)
                    total += selection_cost(frag.selection_set, target or parent, depth)
        return total

    return selection_cost(operation.selection_set, root, 0)
