{#-
    The tickets an incremental run re-derives, as a SQL subquery of `ticket_id`s (only used
    inside `{% if is_windowed_run() %}`). A ticket's facts change while its events arrive,
    so the run recomputes, from all their events:
    - tickets that landed, or got events that landed, in the window;
    - tickets sharing requester and category with those (their 7-day re-contact flag can
      change when a new ticket arrives);
    - when `pending_from` names fct_tickets itself, the tickets still open there
      (`is_open`, the one definition), whose SLA clocks run on with the data's as-of time
      (the backlog: a small set).
    `tickets` and `events` default to the staging models' refs; `ticket_scope` passes
    their relations instead.
-#}
{% macro tickets_in_scope(pending_from=none, tickets=none, events=none) -%}
    {%- set tickets = tickets if tickets is not none else ref('stg_helpdesk__tickets') -%}
    {%- set events = events if events is not none else ref('stg_helpdesk__ticket_events') -%}
    select ticket_id
    from {{ tickets }}
    where {{ window_bounds('landing_date') }}

    union

    select ticket_id
    from {{ events }}
    where {{ window_bounds('landing_date') }}

    union

    select neighbours.ticket_id
    from {{ tickets }} as neighbours
    inner join (
        select distinct
            window_tickets.requester_id,
            window_tickets.category
        from {{ tickets }} as window_tickets
        where window_tickets.ticket_id in (
            select ticket_id
            from {{ tickets }}
            where {{ window_bounds('landing_date') }}
            union
            select ticket_id
            from {{ events }}
            where {{ window_bounds('landing_date') }}
        )
    ) as touched_topics
        on
            neighbours.requester_id = touched_topics.requester_id
            and neighbours.category = touched_topics.category
    {%- if pending_from is not none %}

    union

    select ticket_id
    from {{ pending_from }}
    where is_open
    {%- endif %}
{%- endmacro %}


{#-
    The tickets this windowed build re-derives, for the ticket tables under fct_tickets
    (`int_tickets__*`, through `in_ticket_scope`) and their tests (`meta.ticket_scope`,
    `get_where_subquery`): the same set `fct_tickets` rebuilds, its open tickets read from
    the table as it stands before this build rewrites it, as its own run reads them. The
    relations are looked up by name in the graph, not by `ref`: the ticket tables run before
    `fct_tickets` (a `ref` would be a cycle), and a test knows the window only when it runs.
    None when `fct_tickets` does not exist yet (its first build derives every ticket).
-#}
{% macro ticket_scope() -%}
    {%- set fct_tickets = load_relation(relation_of('fct_tickets')) -%}
    {%- if fct_tickets is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(tickets_in_scope(
        pending_from=fct_tickets,
        tickets=relation_of('stg_helpdesk__tickets'),
        events=relation_of('stg_helpdesk__ticket_events'),
    )) }}
{%- endmacro %}


{#-
    A predicate keeping the tickets in scope (`ticket_scope`) in a windowed run of a
    ticket table; always true otherwise. The filter sits on each table's own reads: DuckDB
    does not push a `ticket_id in (...)` filter from a query down into a view's
    aggregations, which is why these models are tables, not views. `within`: a CTE of the
    same query already filtered to the scope, whose `ticket_id`s are read instead of
    computing the scope a second time.
-#}
{% macro in_ticket_scope(column='ticket_id', within=none) -%}
    {%- set scope = ticket_scope() if is_windowed_run() else none -%}
    {%- if scope is none -%}
        (1 = 1)
    {%- elif within is not none -%}
        {{ column }} in (select ticket_id from {{ within }})
    {%- else -%}
        {{ column }} in ({{ scope }})
    {%- endif -%}
{%- endmacro %}


{#- A model's relation from the graph, by name (for SQL that must not `ref` it). -#}
{% macro relation_of(model_name) -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ model_name] -%}
    {{ return(api.Relation.create(
        database=node.database, schema=node.schema, identifier=node.alias
    )) }}
{%- endmacro %}
