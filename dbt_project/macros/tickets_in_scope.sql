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
-#}
{% macro tickets_in_scope(pending_from=none) -%}
    select ticket_id
    from {{ ref('stg_helpdesk__tickets') }}
    where {{ in_window('landing_date') }}

    union

    select ticket_id
    from {{ ref('stg_helpdesk__ticket_events') }}
    where {{ in_window('landing_date') }}

    union

    select neighbours.ticket_id
    from {{ ref('stg_helpdesk__tickets') }} as neighbours
    inner join (
        select distinct
            window_tickets.requester_id,
            window_tickets.category
        from {{ ref('stg_helpdesk__tickets') }} as window_tickets
        where window_tickets.ticket_id in (
            select ticket_id
            from {{ ref('stg_helpdesk__tickets') }}
            where {{ in_window('landing_date') }}
            union
            select ticket_id
            from {{ ref('stg_helpdesk__ticket_events') }}
            where {{ in_window('landing_date') }}
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
